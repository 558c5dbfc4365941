//! Placeholder: being written (issue 17).

fn main() {}
