"""Email: a durable outbox written in the transaction of its cause, delivered by a worker in
every app process through one transport (SMTP, a folder of .eml files, or the console)."""
