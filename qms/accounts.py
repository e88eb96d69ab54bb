"""`qms account add|passwd|disable|enable|list`: console accounts from the command line.

Works while the dispatcher runs (its own connection to the database). Passwords are asked
without echo, twice, or read from standard input with --password-stdin; never an argument
(it would sit in the shell history and the process list).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from dispatcher.server.console.accounts import AccountError, AccountStore
from dispatcher.server.main import default_db_path
from qms.config import QmsConfig

EXIT_REFUSED = 1


def read_password(from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        print("the two passwords differ", file=sys.stderr)
        return None
    return first


def account_command(config: QmsConfig, config_path: Path, args: argparse.Namespace) -> int:
    db: Path = args.db or default_db_path(config_path)
    store = AccountStore(db, frozenset(s.id for s in config.staff))
    try:
        action = args.account_command
        if action == "list":
            for a in store.accounts():
                state = " (disabled)" if a.disabled else ""
                print(f"{a.username}\t{a.role}\t{a.staff_id or '-'}{state}")
            return 0
        if action in ("add", "passwd"):
            password = read_password(args.password_stdin)
            if password is None:
                return EXIT_REFUSED
            if action == "add":
                account = store.add(args.username, password, args.role, args.staff_id)
                print(f"added {account.role} {account.username}"
                      + (f" (staff {account.staff_id})" if account.staff_id else ""))
            else:
                store.set_password(args.username, password)
                print(f"password of {args.username} set; its sessions have ended")
        else:
            store.set_disabled(args.username, action == "disable")
            print(f"{args.username} {action}d")
        store.audit("cli", "localhost", f"account-{action}", args.username, "ok")
        return 0
    except AccountError as err:
        print(f"refused: {err}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        store.close()
