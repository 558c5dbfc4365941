"""S3 conditional writes as AWS documents them (launcher.py patch 13, and R11 of
the realistic profile), which the engine's S3 state backend relies on: of many
`If-None-Match: *` writes racing for one key exactly one succeeds and the others
get 412 (or, under the realistic profile, 409 ConditionalRequestConflict while the
winning write is under way); `If-Match` on a changed or missing object fails, and
so does a conditional delete:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html

Run: python3 -m unittest discover -s tests/moto -p 'test_*.py' -v
"""

import threading
import unittest

from botocore.exceptions import ClientError

from test_realistic import Server


def code_of(call, **kwargs) -> tuple[str, int]:
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{call.__name__} succeeded")


class ConditionalWrites(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.server = Server()
        cls.server.wait_ready()
        cls.s3 = cls.server.client("s3")
        cls.s3.create_bucket(Bucket="conditional")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def test_of_racing_creates_exactly_one_wins(self) -> None:
        for round_ in range(10):
            key = f"lock-{round_}"
            barrier = threading.Barrier(12)
            outcomes: list[str] = []

            def create(i: int) -> None:
                client = self.server.client("s3")
                barrier.wait()
                try:
                    client.put_object(
                        Bucket="conditional", Key=key, Body=f"holder {i}".encode(), IfNoneMatch="*"
                    )
                    outcomes.append("created")
                except ClientError as e:
                    outcomes.append(e.response["Error"]["Code"])

            threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(outcomes.count("created"), 1, outcomes)
            self.assertEqual(outcomes.count("PreconditionFailed"), 11, outcomes)

    def test_if_match_writes_only_over_the_object_read(self) -> None:
        etag = self.s3.put_object(Bucket="conditional", Key="state", Body=b"1")["ETag"]
        newer = self.s3.put_object(Bucket="conditional", Key="state", Body=b"2", IfMatch=etag)
        self.assertEqual(
            code_of(self.s3.put_object, Bucket="conditional", Key="state", Body=b"3", IfMatch=etag),
            ("PreconditionFailed", 412),
        )
        body = self.s3.get_object(Bucket="conditional", Key="state")["Body"].read()
        self.assertEqual(body, b"2")
        # A missing object: 404 NoSuchKey, nothing created.
        self.assertEqual(
            code_of(self.s3.put_object, Bucket="conditional", Key="gone", Body=b"x", IfMatch=etag),
            ("NoSuchKey", 404),
        )
        # Conditional delete: only the object with that ETag.
        self.assertEqual(
            code_of(self.s3.delete_object, Bucket="conditional", Key="state", IfMatch=etag),
            ("PreconditionFailed", 412),
        )
        self.s3.delete_object(Bucket="conditional", Key="state", IfMatch=newer["ETag"])
        self.assertEqual(
            code_of(self.s3.head_object, Bucket="conditional", Key="state")[1], 404
        )


class ConditionalWriteConflicts(unittest.TestCase):
    """R11 against `--realistic` (an object write takes 0.05 s)."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = Server("--realistic")
        cls.server.wait_ready()
        cls.s3 = cls.server.client("s3")
        cls.s3.create_bucket(Bucket="conflicts")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def race(self, key: str, writers: int, **condition) -> list[str]:
        barrier = threading.Barrier(writers)
        outcomes: list[str] = []

        def write(i: int) -> None:
            client = self.server.client("s3")
            barrier.wait()
            try:
                client.put_object(Bucket="conflicts", Key=key, Body=f"{i}".encode(), **condition)
                outcomes.append("written")
            except ClientError as e:
                outcomes.append(e.response["Error"]["Code"])

        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return outcomes

    def test_conditional_writes_during_a_write_conflict_with_409(self) -> None:
        outcomes = self.race("lock", 8, IfNoneMatch="*")
        self.assertEqual(outcomes.count("written"), 1, outcomes)
        self.assertGreater(outcomes.count("ConditionalRequestConflict"), 0, outcomes)
        self.assertLessEqual(
            set(outcomes), {"written", "ConditionalRequestConflict", "PreconditionFailed"}, outcomes
        )
        self.assertEqual(
            code_of(self.s3.put_object, Bucket="conflicts", Key="lock", Body=b"x", IfNoneMatch="*"),
            ("PreconditionFailed", 412),
            "once the write is done, the condition is evaluated",
        )

    def test_unconditional_writes_never_conflict(self) -> None:
        self.assertEqual(self.race("plain", 6), ["written"] * 6)


if __name__ == "__main__":
    unittest.main()
