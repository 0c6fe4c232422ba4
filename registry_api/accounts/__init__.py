"""Accounts: sign-in and sessions, the actor every operation takes, passwords, regulator
accounts (annex 2) and their roster, and the scope every domain checks: the unit of the
division tree an account answers for.

The lowest domain: it imports no other, and every other asks it who is calling."""
