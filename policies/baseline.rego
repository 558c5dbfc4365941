# The security baseline in Rego: the same rules, messages and remediations as the
# policy plugin policies/baseline/src/lib.rs (docs/policies.md, "The security
# baseline"), for `engine check --policy policies/baseline.rego`, `opa eval` or
# `conftest`. A change to a rule there is made here too.
#
# Conventions:
# - `input` is the plan as `engine plan --json` prints it (docs/plan.schema.json,
#   docs/policies.md "The plan as JSON"), whose `context` (`stack`, `region`,
#   `environment`) gives the environment. A plan without `context` (written by an
#   older engine) has an unnamed environment, as for the plugin given an empty one.
# - `package main`, Rego v1. `deny` holds the mandatory violations, `warn` the
#   advisory ones; each is an object {msg, address, remediation, rule}, `rule` being
#   the plugin's rule id (a violation's `policy`).
#
# How the rules read the plan (as the plugin does):
# - Deletes are skipped: the plugin sees a delete's prior properties, and ignores
#   them. A deposed copy is always a delete. Every other change, no-ops included,
#   is checked by its `after`.
# - A `text` value is a literal string, or `{"$ref": "plugin/name.attribute"}` when
#   known only after apply (the plugin's `Text::Ref`); a reference names the
#   resource it comes from, and the rules follow it to that resource's `after`.
# - Literal ids cannot be followed: they are matched with literals, and by the AWS
#   id prefix where that names the kind (`igw-`). Evidence that cannot be found
#   breaks no rule.
#
# Only core builtins are used (no `net`, `regex`): CIDR blocks are parsed and
# compared as the plugin does, clearing host bits.

package main

import rego.v1

# ---------------------------------------------------------------------------
# Constants (the plugin's `ALLOWED_DB_CLASSES`, `DATA_PORTS`, ...)

allowed_db_classes := ["db.t3.micro"]

allowed_cache_node_types := ["cache.t3.micro"]

min_backup_retention_days := 7

min_log_retention_days := 365

postgres_log_exports := ["postgresql", "upgrade"]

dev_environment := "dev"

# Ports of data stores, with their names: ingress to them must come from inside
# the VPC. The ports of the caches and databases in the plan are data ports too.
known_data_ports := [
	[1433, "SQL Server"],
	[1521, "Oracle"],
	[3306, "MySQL"],
	[5432, "PostgreSQL"],
	[5439, "Redshift"],
	[6379, "Redis"],
	[9042, "Cassandra"],
	[11211, "Memcached"],
	[27017, "MongoDB"],
]

private_address_ranges := ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]

# ---------------------------------------------------------------------------
# The plan

# The live resources (every change but a delete), by address.
resources[change.address] := change if {
	some change in input.changes
	change.action != "delete"
}

# The desired properties of the live resources of `kind`, by address.
live(kind) := {address: change.after |
	some address, change in resources
	change.kind == kind
}

environment := trim_space(object.get(input, ["context", "environment"], ""))

# A violation as `engine check` reads it.
finding(rule, address, msg, remediation) := {
	"rule": rule,
	"address": address,
	"msg": msg,
	"remediation": remediation,
}

# ---------------------------------------------------------------------------
# Values: literals and references

is_ref(t) if is_string(t["$ref"])

# The address of the resource a reference comes from, and its attribute.
ref_address(t) := substring(t["$ref"], 0, indexof(t["$ref"], "."))

ref_attribute(t) := substring(t["$ref"], indexof(t["$ref"], ".") + 1, -1)

# The live resource a value comes from, when it is a reference to one in the plan.
target(t) := resources[ref_address(t)] if is_ref(t)

# Whether two values are the same: equal literals, or references to the same
# attribute of the same resource.
same(a, b) if {
	is_string(a)
	is_string(b)
	trim_space(a) == trim_space(b)
}

same(a, b) if {
	is_ref(a)
	is_ref(b)
	a["$ref"] == b["$ref"]
}

# A value for a message: a literal as is, a reference to an `id` as the resource's
# address, another reference as `address.attribute`.
show(t) := t if is_string(t)

show(t) := ref_address(t) if {
	is_ref(t)
	ref_attribute(t) == "id"
}

show(t) := t["$ref"] if {
	is_ref(t)
	ref_attribute(t) != "id"
}

# Whether an optional key names a key (null, `none` and empty do not).
has_key(k) if is_ref(k)

has_key(k) if {
	is_string(k)
	not trim_space(k) in {"", "none"}
}

# Whether an optional key names a customer-managed key: a reference, or a literal
# that is not an AWS managed alias (`alias/aws/...`). A literal key id or ARN
# cannot be told apart from an AWS managed key's, so it counts as customer-managed.
customer_managed_key(k) if is_ref(k)

customer_managed_key(k) if {
	has_key(k)
	is_string(k)
	s := trim_space(k)
	not startswith(s, "alias/aws/")
	not contains(s, ":alias/aws/")
}

is_default_route(destination) if trim_space(destination) in {"0.0.0.0/0", "::/0"}

# Whether `t` names an internet gateway: a reference to one in the plan, or the id
# of an existing one (`igw-...`). Undefined when it cannot be told (a reference to
# a resource not in the plan).
internet_gateway(t) := startswith(trim_space(t), "igw-") if is_string(t)

internet_gateway(t) := target(t).kind == "internet-gateway" if is_ref(t)

# "1 day", "2 days".
plural(n, word) := sprintf("%d %s", [n, word]) if n == 1

plural(n, word) := sprintf("%d %ss", [n, word]) if n != 1

# ---------------------------------------------------------------------------
# IPv4 CIDR blocks: {"network": n, "prefix": p}, host bits cleared (`10.0.0.5/24`
# is `10.0.0.0/24`, as AWS reads it). Undefined for anything else (IPv6 included).

# A number as Rust parses a `u8`: an optional `+`, then decimal digits, leading
# zeros allowed (regorus's `to_number` refuses them, so they are dropped first).
decimal(s) := number_of(trim_left(digits, "0")) if {
	digits := trim_prefix(s, "+")
	digits != ""
	trim_left(digits, "0123456789") == ""
}

number_of("") := 0

number_of(digits) := to_number(digits) if digits != ""

block_size(prefix) := bits.lsh(1, 32 - prefix)

parse_block(s) := {"network": address - (address % block_size(prefix)), "prefix": prefix} if {
	is_string(s)
	parts := split(trim_space(s), "/")
	count(parts) == 2
	prefix := decimal(parts[1])
	prefix <= 32
	words := split(parts[0], ".")
	count(words) == 4
	octets := [o | some w in words; o := decimal(w); o <= 255]
	count(octets) == 4
	address := ((((octets[0] * 256) + octets[1]) * 256) + octets[2]) * 256 + octets[3]
}

# Whether `inner` lies entirely inside `outer`.
block_contains(outer, inner) if {
	inner.prefix >= outer.prefix
	inner.network - (inner.network % block_size(outer.prefix)) == outer.network
}

format_block(b) := sprintf("%d.%d.%d.%d/%d", [
	(b.network - (b.network % 16777216)) / 16777216,
	((b.network % 16777216) - (b.network % 65536)) / 65536,
	((b.network % 65536) - (b.network % 256)) / 256,
	b.network % 256,
	b.prefix,
])

# ---------------------------------------------------------------------------
# Rule: encryption-at-rest (mandatory). Data stores are encrypted at rest.
# Checkov CKV_AWS_43 (Kinesis), CKV_AWS_29 (Redis), CKV_AWS_16 (RDS), CKV_AWS_26
# (SNS), CKV_AWS_19 (S3). Not applicable: network kinds, KMS keys and aliases,
# secrets (Secrets Manager always encrypts), IAM, alarms, log groups (see
# `log-group-kms`) and flow logs.

deny contains finding("encryption-at-rest", address, msg, remediation) if {
	some address, stream in live("kinesis-stream")
	not has_key(stream["kms-key-id"])
	msg := sprintf("The Kinesis stream `%s` is not encrypted at rest: `kms-key-id` is not set.", [stream.name])
	remediation := "Set `kms-key-id` to a KMS key: a customer-managed key (its ARN, or a reference to one) or the AWS managed `alias/aws/kinesis`."
}

deny contains finding("encryption-at-rest", address, msg, remediation) if {
	some address, group in live("cache-replication-group")
	group["at-rest-encryption"] == false
	msg := sprintf("The Redis replication group `%s` is not encrypted at rest: `at-rest-encryption` is false.", [group.id])
	remediation := "Set `at-rest-encryption` to true (this replaces the group: ElastiCache cannot encrypt an existing one)."
}

deny contains finding("encryption-at-rest", address, msg, remediation) if {
	some address, db in live("db-instance")
	db["storage-encrypted"] == false
	msg := sprintf("The database `%s` is not encrypted at rest: `storage-encrypted` is false.", [db.identifier])
	remediation := "Set `storage-encrypted` to true (this replaces the instance; to keep the data, restore an encrypted copy of a snapshot)."
}

deny contains finding("encryption-at-rest", address, msg, remediation) if {
	some address, bucket in live("s3-bucket")
	bucket["default-encryption"] == false
	msg := sprintf("The S3 bucket `%s` declares no default encryption: `default-encryption` is false.", [bucket.name])
	remediation := "Set `default-encryption` to true, with `kms-key-id` for SSE-KMS (a customer-managed key) or without it for SSE-S3."
}

deny contains finding("encryption-at-rest", address, msg, remediation) if {
	some address, topic in live("sns-topic")
	not has_key(topic["kms-key-id"])
	msg := sprintf("The SNS topic `%s` is not encrypted at rest: `kms-key-id` is not set.", [topic.name])
	remediation := "Set `kms-key-id` to a KMS key whose key policy lets the publishers (for alarms, `cloudwatch.amazonaws.com`) use it."
}

# ---------------------------------------------------------------------------
# Rule: redis-transit-encryption (mandatory). Redis speaks TLS. Checkov CKV_AWS_30.

deny contains finding("redis-transit-encryption", address, msg, remediation) if {
	some address, group in live("cache-replication-group")
	group["transit-encryption"] == false
	msg := sprintf("The Redis replication group `%s` is not encrypted in transit: `transit-encryption` is false, so clients and replicas talk in plain text.", [group.id])
	remediation := "Set `transit-encryption` to true (this replaces the group) and connect clients with TLS (`rediss://`)."
}

# ---------------------------------------------------------------------------
# Rule: s3-block-public-access (mandatory). No bucket can be made public.
# Checkov CKV2_AWS_6.

deny contains finding("s3-block-public-access", address, msg, remediation) if {
	some address, bucket in live("s3-bucket")
	bucket["block-public-access"] == false
	msg := sprintf("The S3 bucket `%s` can be made public: `block-public-access` is false, so a bucket policy or ACL may grant access to anyone.", [bucket.name])
	remediation := "Set `block-public-access` to true; share objects through presigned URLs or a CloudFront distribution instead."
}

# ---------------------------------------------------------------------------
# Rule: private-data-stores (mandatory). Databases are not publicly accessible,
# and cache and DB subnet groups list only private subnets. Checkov CKV_AWS_17.

deny contains finding("private-data-stores", address, msg, remediation) if {
	some address, db in live("db-instance")
	db["publicly-accessible"] == true
	msg := sprintf("The database `%s` is publicly accessible: `publicly-accessible` is true, so it gets a public IP address.", [db.identifier])
	remediation := "Set `publicly-accessible` to false; reach the database from inside the VPC."
}

subnet_group_kinds := {"cache-subnet-group": "cache subnet group", "db-subnet-group": "DB subnet group"}

deny contains finding("private-data-stores", address, msg, remediation) if {
	some kind, what in subnet_group_kinds
	some address, group in live(kind)
	public := [sprintf("`%s` (%s)", [show(id), concat("; ", why)]) |
		some id in group["subnet-ids"]
		why := public_subnet_reasons(id)
		count(why) > 0
	]
	count(public) > 0
	msg := sprintf("The %s `%s` (`subnet-ids`) places data stores in public subnets: %s.", [what, group.name, concat(", ", public)])
	remediation := "List only private subnets in `subnet-ids`: subnets without `map-public-ip-on-launch` whose route table has no route to an internet gateway."
}

# Why the subnet `subnet_id` is public, if it is: it gives instances public IP
# addresses, or a route table associated with it sends the default route to an
# internet gateway. Empty when nothing in the plan says so.
public_subnet_reasons(subnet_id) := array.concat(public_ip_reasons(subnet_id), route_reasons(subnet_id))

public_ip_reasons(subnet_id) := ["gives instances public IP addresses (`map-public-ip-on-launch`)"] if {
	subnet := target(subnet_id)
	subnet.kind == "subnet"
	subnet.after["map-public-ip-on-launch"] == true
} else := []

# In the order of the associations' and the routes' addresses.
route_reasons(subnet_id) := [reason | some [_, _, reason] in sort({[a, r, reason] |
	some a, association in live("route-table-association")
	same(association["subnet-id"], subnet_id)
	some r, route in live("route")
	same(route["route-table-id"], association["route-table-id"])
	is_default_route(route["destination-cidr-block"])
	internet_gateway(route["gateway-id"]) == true
	reason := sprintf("its route table `%s` sends %s to the internet gateway `%s`", [
		show(association["route-table-id"]),
		trim_space(route["destination-cidr-block"]),
		show(route["gateway-id"]),
	])
})]

# ---------------------------------------------------------------------------
# Rule: ingress-restricted (mandatory on data ports, advisory on others). A
# security-group ingress rule open to `0.0.0.0/0`, `::/0` or any block outside the
# VPC. No Checkov check.

deny contains ingress_finding(address, i, sources, why) if {
	some [address, i, sources] in open_ingress
	rule := resources[address].after.ingress[i]
	to_data(address, rule)
	why := sprintf("%s, may only come from inside the VPC", [data_what(rule)])
}

warn contains ingress_finding(address, i, sources, "least privilege: the stack has no public endpoints") if {
	some [address, i, sources] in open_ingress
	not to_data(address, resources[address].after.ingress[i])
}

# The ingress rules open to blocks outside their VPC: [address, index, sources].
open_ingress contains [address, i, sources] if {
	some address, group in live("security-group")
	blocks := vpc_blocks(group["vpc-id"]).blocks
	some i, rule in group.ingress
	sources := [source |
		some block in rule["cidr-blocks"]
		source := outside_source(cidr_value(block), blocks)
	]
	count(sources) > 0
}

ingress_finding(address, i, sources, why) := finding("ingress-restricted", address, msg, remediation) if {
	group := resources[address].after
	rule := group.ingress[i]
	msg := sprintf("Ingress rule %d of security group `%s` (`ingress`, %s%s) allows traffic from %s, outside %s: %s.", [
		i + 1,
		group.name,
		ports_text(rule),
		description_text(rule.description),
		concat(", ", sources),
		vpc_blocks(group["vpc-id"]).inside,
		why,
	])
	remediation := "Allow only blocks inside the VPC in `cidr-blocks` (for example a reference to the VPC's `cidr-block`)."
}

# A source block for the message when it lies outside `blocks`.
outside_source(value, _) := sprintf("`%s` (anywhere)", [value]) if is_default_route(value)

outside_source(value, blocks) := sprintf("`%s`", [value]) if {
	not is_default_route(value)
	not inside(value, blocks)
}

inside(value, blocks) if {
	b := parse_block(value)
	some outer in blocks
	block_contains(outer, b)
}

# The value of a CIDR block: a literal, or a reference to a VPC's or subnet's
# `cidr-block`. Undefined when it cannot be known before apply.
cidr_value(t) := trim_space(t) if is_string(t)

cidr_value(t) := trim_space(source.after["cidr-block"]) if {
	ref_attribute(t) == "cidr-block"
	source := target(t)
	source.kind in {"vpc", "subnet"}
}

# The blocks "inside the VPC" means for a security group in `vpc_id`, and how to
# name them: the referenced VPC's block; for an existing VPC (a literal id the plan
# cannot follow), the blocks of every VPC in the plan; with no VPC in the plan, the
# private address ranges of RFC 1918.
vpc_blocks(vpc_id) := {"blocks": [b], "inside": sprintf("the VPC's block %s", [format_block(b)])} if {
	vpc := target(vpc_id)
	vpc.kind == "vpc"
	b := parse_block(vpc.after["cidr-block"])
} else := {"blocks": stack_vpc_blocks, "inside": sprintf("the stack's VPC blocks (%s)", [concat(", ", names)])} if {
	count(stack_vpc_blocks) > 0
	names := [format_block(b) | some b in stack_vpc_blocks]
} else := {
	"blocks": [parse_block(b) | some b in private_address_ranges],
	"inside": "private address ranges (no VPC in the plan)",
}

# The blocks of the VPCs in the plan, in address order.
stack_vpc_blocks := [b |
	some address in sort(object.keys(live("vpc")))
	b := parse_block(resources[address].after["cidr-block"])
]

# Every data port: the known ones and the ports of the plan's caches and databases.
data_ports contains port if some [port, _] in known_data_ports

data_ports contains group.port if some group in live("cache-replication-group")

data_ports contains db.port if some db in live("db-instance")

# Security groups that guard a data store, by address: all their ingress is
# ingress to data.
guarding contains ref_address(id) if {
	some group in live("cache-replication-group")
	some id in group["security-group-ids"]
	is_ref(id)
}

guarding contains ref_address(id) if {
	some db in live("db-instance")
	some id in db["vpc-security-group-ids"]
	is_ref(id)
}

# The lowest data port a rule's port range covers (whatever its protocol).
data_port(rule) := min(covered) if {
	covered := {p | some p in data_ports; rule["from-port"] <= p; p <= rule["to-port"]}
	count(covered) > 0
}

to_data(address, _) if address in guarding

to_data(_, rule) if rule.protocol == "all"

to_data(_, rule) if {
	rule.protocol in {"tcp", "udp"}
	data_port(rule)
}

data_what(rule) := sprintf("%s, a data port", [name]) if {
	some [port, name] in known_data_ports
	port == data_port(rule)
} else := "traffic to a data store"

ports_text(rule) := "all traffic" if rule.protocol == "all"

ports_text(rule) := "ICMP" if rule.protocol == "icmp"

ports_text(rule) := sprintf("%s port %d", [upper(rule.protocol), rule["from-port"]]) if {
	rule.protocol in {"tcp", "udp"}
	rule["from-port"] == rule["to-port"]
}

ports_text(rule) := sprintf("%s ports %d-%d", [upper(rule.protocol), rule["from-port"], rule["to-port"]]) if {
	rule.protocol in {"tcp", "udp"}
	rule["from-port"] != rule["to-port"]
}

description_text(d) := "" if d == ""

description_text(d) := sprintf(", \"%s\"", [d]) if d != ""

# ---------------------------------------------------------------------------
# Rule: backup-retention (mandatory). Databases keep automated backups at least a
# week. Checkov CKV_AWS_133.

deny contains finding("backup-retention", address, msg, remediation) if {
	some address, db in live("db-instance")
	days := db["backup-retention-days"]
	days < min_backup_retention_days
	msg := sprintf("The database `%s` %s (`backup-retention-days`); the baseline requires at least %d.", [db.identifier, backups_kept(days), min_backup_retention_days])
	remediation := "Set `backup-retention-days` to 7 or more (up to 35)."
}

backups_kept(0) := "has automated backups turned off"

backups_kept(days) := sprintf("keeps automated backups for %s", [plural(days, "day")]) if days > 0

# ---------------------------------------------------------------------------
# Rule: multi-az (mandatory). The cache and the database survive the loss of an
# availability zone. Checkov CKV_AWS_157.

deny contains finding("multi-az", address, msg, remediation) if {
	some address, db in live("db-instance")
	db["multi-az"] == false
	msg := sprintf("The database `%s` runs in one availability zone: `multi-az` is false.", [db.identifier])
	remediation := "Set `multi-az` to true: RDS keeps a synchronous standby in another zone and fails over to it."
}

deny contains finding("multi-az", address, msg, remediation) if {
	some address, group in live("cache-replication-group")
	wrong := [w |
		some w in [
			disabled(group, "multi-az"),
			disabled(group, "automatic-failover"),
			no_replica(group["num-cache-clusters"]),
		]
		w != ""
	]
	count(wrong) > 0
	msg := sprintf("The Redis replication group `%s` is not Multi-AZ: %s.", [group.id, concat(", ", wrong)])
	remediation := "Set `multi-az` and `automatic-failover` to true, with `num-cache-clusters` of 2 or more, so that a replica in another zone takes over when the primary fails."
}

disabled(properties, name) := sprintf("`%s` is false", [name]) if {
	properties[name] == false
} else := ""

no_replica(n) := sprintf("`num-cache-clusters` is %d (no replica)", [n]) if {
	n < 2
} else := ""

# ---------------------------------------------------------------------------
# Rule: allowed-instance-classes (mandatory). Database and cache nodes from the
# allowed lists. No Checkov check.

deny contains disallowed_class(address, "database", db.identifier, "instance-class", db["instance-class"], allowed_db_classes) if {
	some address, db in live("db-instance")
	not trim_space(db["instance-class"]) in allowed_db_classes
}

deny contains disallowed_class(address, "Redis replication group", group.id, "node-type", group["node-type"], allowed_cache_node_types) if {
	some address, group in live("cache-replication-group")
	not trim_space(group["node-type"]) in allowed_cache_node_types
}

disallowed_class(address, what, name, property, class, allowed) := finding("allowed-instance-classes", address, msg, remediation) if {
	list := concat(", ", allowed)
	msg := sprintf("The %s `%s` uses `%s` `%s`, which is not on the baseline's allowed list (%s).", [what, name, property, class, list])
	remediation := sprintf("Set `%s` to one of: %s. A stack that needs more capacity extends the list in policies/baseline through review.", [property, list])
}

# ---------------------------------------------------------------------------
# Rule: no-nat-gateway (mandatory). Routes lead only to internet gateways; private
# subnets reach AWS services through VPC endpoints. No Checkov check.

deny contains finding("no-nat-gateway", address, msg, remediation) if {
	some address, route in live("route")
	internet_gateway(route["gateway-id"]) == false
	msg := sprintf("The route to %s in `%s` goes to `%s` (`gateway-id`), which is not an internet gateway: the baseline allows no NAT gateway.", [
		trim_space(route["destination-cidr-block"]),
		show(route["route-table-id"]),
		show(route["gateway-id"]),
	])
	remediation := "Remove the route; reach AWS services from private subnets through VPC endpoints (interface endpoints, or gateway endpoints for S3 and DynamoDB)."
}

# ---------------------------------------------------------------------------
# Rule: redis-auth (mandatory). Every Redis client authenticates.
# Checkov CKV_AWS_31.

deny contains finding("redis-auth", address, msg, remediation) if {
	some address, group in live("cache-replication-group")
	group["auth-token"] == null
	msg := sprintf("The Redis replication group `%s` has no AUTH token: `auth-token` is not set, so any client that reaches its port in the VPC has full access to the data (Checkov CKV_AWS_31).", [group.id])
	remediation := "Set `auth-token` to the password of a stack `secret` (it needs `transit-encryption`; this replaces the group). JapanCart: `redis-auth = true` (the default)."
}

# ---------------------------------------------------------------------------
# Rule: customer-managed-key (mandatory). The cache and the database are encrypted
# with a key the stack controls. Checkov CKV_AWS_191 for Redis; for the database,
# the scan's finding "storage encrypted with the AWS-managed key" (no separate
# Checkov id). A store not encrypted at all is `encryption-at-rest`'s violation.

deny contains finding("customer-managed-key", address, msg, remediation) if {
	some address, group in live("cache-replication-group")
	group["at-rest-encryption"] == true
	not customer_managed_key(group["kms-key-id"])
	msg := sprintf("The Redis replication group `%s` is encrypted at rest with the AWS managed key: `kms-key-id` names no customer-managed key, so the key policy and its audit trail are AWS's, not the stack's (Checkov CKV_AWS_191).", [group.id])
	remediation := "Set `kms-key-id` to a customer-managed KMS key of the stack (this replaces the group). JapanCart: `redis-kms-key = create` (the default)."
}

deny contains finding("customer-managed-key", address, msg, remediation) if {
	some address, db in live("db-instance")
	db["storage-encrypted"] == true
	not customer_managed_key(db["kms-key-id"])
	msg := sprintf("The database `%s` is encrypted at rest with the AWS managed key `aws/rds`: `kms-key-id` names no customer-managed key, so the key policy and its audit trail are AWS's, not the stack's (benchmark finding \"storage encrypted with the AWS-managed key\"; no separate Checkov id).", [db.identifier])
	remediation := "Set `kms-key-id` to a customer-managed KMS key of the stack (this replaces the instance; to keep the data, restore a snapshot copied with the new key). JapanCart: `rds-kms-key = create` (the default)."
}

# ---------------------------------------------------------------------------
# Rule: rds-iam-authentication (mandatory). Database users can be IAM identities
# with short-lived tokens. Checkov CKV_AWS_161.

deny contains finding("rds-iam-authentication", address, msg, remediation) if {
	some address, db in live("db-instance")
	db["iam-database-authentication"] == false
	msg := sprintf("The database `%s` does not accept IAM authentication: `iam-database-authentication` is false, so every client needs a long-lived database password (Checkov CKV_AWS_161).", [db.identifier])
	remediation := "Set `iam-database-authentication` to true. JapanCart: `rds-iam-auth = true` (the default)."
}

# ---------------------------------------------------------------------------
# Rule: rds-log-exports (mandatory). A PostgreSQL database publishes its
# `postgresql` and `upgrade` logs to CloudWatch Logs; other engines are not
# checked. Checkov CKV_AWS_129.

deny contains finding("rds-log-exports", address, msg, remediation) if {
	some address, db in live("db-instance")
	trim_space(db.engine) == "postgres"
	exported := {trim_space(e) | some e in db["cloudwatch-logs-exports"]}
	missing := [sprintf("`%s`", [log]) | some log in postgres_log_exports; not log in exported]
	count(missing) > 0
	msg := sprintf("The PostgreSQL database `%s` does not publish its %s to CloudWatch Logs: %s missing from `cloudwatch-logs-exports`, so errors, connections and upgrades leave no record outside the instance (Checkov CKV_AWS_129).", [db.identifier, missing_logs(missing), missing_verb(missing)])
	remediation := "Add `postgresql` and `upgrade` to `cloudwatch-logs-exports`. JapanCart: `rds-log-exports = postgresql,upgrade` (the default)."
}

missing_logs(missing) := sprintf("log %s", missing) if count(missing) == 1

missing_logs(missing) := sprintf("logs %s", [concat(" and ", missing)]) if count(missing) > 1

missing_verb(missing) := "it is" if count(missing) == 1

missing_verb(missing) := "they are" if count(missing) > 1

# ---------------------------------------------------------------------------
# Rule: rds-copy-tags-to-snapshot (mandatory). Snapshots carry the instance's tags,
# so they stay attributable to their stack and environment. Checkov CKV2_AWS_60.

deny contains finding("rds-copy-tags-to-snapshot", address, msg, remediation) if {
	some address, db in live("db-instance")
	db["copy-tags-to-snapshot"] == false
	msg := sprintf("The database `%s` does not copy its tags to its snapshots: `copy-tags-to-snapshot` is false, so a snapshot cannot be told by its tags whose data it holds (Checkov CKV2_AWS_60).", [db.identifier])
	remediation := "Set `copy-tags-to-snapshot` to true. JapanCart: `rds-copy-tags-to-snapshot = true` (the default)."
}

# ---------------------------------------------------------------------------
# Rule: rds-deletion-protection (mandatory, not reported in `dev`). Outside `dev`,
# a database refuses deletion; a dev stack is torn down by design. The environment
# is `input.context.environment`. Checkov CKV_AWS_293.

deny contains finding("rds-deletion-protection", address, msg, remediation) if {
	environment != dev_environment
	some address, db in live("db-instance")
	db["deletion-protection"] == false
	msg := sprintf("The database `%s` can be deleted by a single call: `deletion-protection` is false, and the environment is `%s`, where only `dev` may leave it off (Checkov CKV_AWS_293).", [db.identifier, environment_name])
	remediation := "Set `deletion-protection` to true. JapanCart: `rds-deletion-protection = true` (unset, it is on outside `dev`)."
}

environment_name := "unnamed" if {
	environment == ""
} else := environment

# ---------------------------------------------------------------------------
# Rule: secret-rotation (mandatory). The database's master password is managed and
# rotated by RDS; a password the stack generates into a `secret` is never rotated.
# The violation is on the database, naming the secret. Checkov CKV2_AWS_57.

deny contains finding("secret-rotation", address, msg, remediation) if {
	some address, db in live("db-instance")
	not rotated(db)
	msg := unrotated_message(db)
	remediation := "Set `manage-master-user-password` to true and unset `master-password`: RDS keeps the password in a secret of its own and rotates it every 7 days. JapanCart: `db-password = rds-managed` (the default)."
}

rotated(db) if {
	db["manage-master-user-password"] == true
	db["master-password"] == null
}

unrotated_message(db) := sprintf("The database `%s` takes its master password from the stack secret %s through `master-password`, and nothing ever rotates that secret: `manage-master-user-password` is false (Checkov CKV2_AWS_57).", [db.identifier, secret_name(db["master-password"]["secret-id"])]) if {
	db["master-password"] != null
}

unrotated_message(db) := sprintf("The database `%s` does not let RDS manage and rotate its master password: `manage-master-user-password` is false (Checkov CKV2_AWS_57).", [db.identifier]) if {
	db["master-password"] == null
}

# A secret for a message: "`name` (`address`)" for a secret of the plan.
secret_name(secret_id) := sprintf("`%s` (`%s`)", [secret.after.name, ref_address(secret_id)]) if {
	secret := target(secret_id)
	secret.kind == "secret"
} else := sprintf("`%s`", [show(secret_id)])

# ---------------------------------------------------------------------------
# Rule: vpc-flow-logs (mandatory). Every VPC has a flow log. Checkov CKV2_AWS_11.

deny contains finding("vpc-flow-logs", address, msg, remediation) if {
	some address, vpc in live("vpc")
	not logged(address)
	msg := sprintf("The VPC `%s` (%s) has no flow log: no `flow-log` has it as `vpc-id`, so its accepted and rejected traffic leaves no record (Checkov CKV2_AWS_11).", [address, trim_space(vpc["cidr-block"])])
	remediation := "Add a `flow-log` for the VPC to a `log-group`, with an `iam-role` (and its `iam-role-policy`) that lets the flow logs service write there. JapanCart: `vpc-flow-logs = true` (the default)."
}

logged(vpc_address) if {
	some flow_log in live("flow-log")
	may_name_vpc(flow_log["vpc-id"], vpc_address)
}

# Whether `vpc_id` may name the VPC at `address`: a reference to it, or a literal
# id when that VPC already exists (the plan keeps or updates it; a VPC being
# created has no id yet). The baseline reports only what it can prove.
may_name_vpc(vpc_id, address) if {
	is_ref(vpc_id)
	ref_address(vpc_id) == address
}

may_name_vpc(vpc_id, address) if {
	is_string(vpc_id)
	trim_space(vpc_id) != ""
	resources[address].action in {"no-op", "update"}
}

# ---------------------------------------------------------------------------
# Rule: default-security-group-closed (mandatory). Every VPC's default security
# group is adopted and allows nothing. Checkov CKV2_AWS_12.

default_security_group_remediation := "Adopt the VPC's default security group with a `default-security-group` whose `ingress` and `egress` are empty, and put every resource in a security group of its own. JapanCart: `default-security-group = closed` (the default)."

deny contains finding("default-security-group-closed", address, msg, default_security_group_remediation) if {
	some address, vpc in live("vpc")
	not adopted(address)
	msg := sprintf("The VPC `%s` (%s) leaves its default security group as AWS makes it: no `default-security-group` has it as `vpc-id`, so the group allows all traffic among its members and all outbound traffic (Checkov CKV2_AWS_12).", [address, trim_space(vpc["cidr-block"])])
}

deny contains finding("default-security-group-closed", address, msg, default_security_group_remediation) if {
	some address, group in live("default-security-group")
	rules := [r |
		some [n, what] in [[count(group.ingress), "ingress (`ingress`)"], [count(group.egress), "egress (`egress`)"]]
		n > 0
		r := plural(n, sprintf("%s rule", [what]))
	]
	count(rules) > 0
	msg := sprintf("The default security group of the VPC `%s` is not closed: it has %s (Checkov CKV2_AWS_12).", [show(group["vpc-id"]), concat(" and ", rules)])
}

adopted(vpc_address) if {
	some group in live("default-security-group")
	may_name_vpc(group["vpc-id"], vpc_address)
}

# ---------------------------------------------------------------------------
# Rule: log-retention (mandatory under 365 days, advisory for never). Log groups
# keep events for at least a year; forever (`retention-days` 0) passes the
# benchmark, but the logs' cost grows without bound. Checkov CKV_AWS_338.

log_retention_remediation := "Set `retention-days` to 365 or more (one of the values CloudWatch Logs allows, such as 365, 400, 545 or 731). JapanCart: `log-retention-days = 365` (the default)."

deny contains finding("log-retention", address, msg, log_retention_remediation) if {
	some address, group in live("log-group")
	days := group["retention-days"]
	days > 0
	days < min_log_retention_days
	msg := sprintf("The log group `%s` keeps its events for %s (`retention-days`); the baseline requires at least %d, so that an incident found late can still be traced (Checkov CKV_AWS_338).", [group.name, plural(days, "day"), min_log_retention_days])
}

warn contains finding("log-retention", address, msg, log_retention_remediation) if {
	some address, group in live("log-group")
	group["retention-days"] == 0
	msg := sprintf("The log group `%s` keeps its events forever (`retention-days` is 0): the benchmark's year is met, but storage and its cost grow without bound (Checkov CKV_AWS_338).", [group.name])
}

# ---------------------------------------------------------------------------
# Rule: log-group-kms (advisory). Log groups are encrypted with a KMS key;
# CloudWatch Logs always encrypts the events with its own keys, a KMS key adds an
# access check and an audit trail. Checkov CKV_AWS_158.

warn contains finding("log-group-kms", address, msg, remediation) if {
	some address, group in live("log-group")
	not has_key(group["kms-key-id"])
	msg := sprintf("The log group `%s` is not encrypted with a KMS key: `kms-key-id` is not set, so CloudWatch Logs' own keys protect it and reads leave no KMS audit trail (Checkov CKV_AWS_158).", [group.name])
	remediation := "Set `kms-key-id` to the ARN of a KMS key whose key policy lets `logs.REGION.amazonaws.com` use it (`service-principals`). JapanCart: `log-kms-key = create` (the default)."
}
