"""Who is calling and what they may do: users files, password and token hashes, upstream's roles and
permissions, the verification of credentials, and the short-lived credentials given to jobs."""
