#!/usr/bin/python3
"""The development SMTP server of `make run` and the test stack.

It accepts every message (aiosmtpd, RFC 5321 with 8BITMIME and SMTPUTF8) and
keeps each one as a file of its own, <nanoseconds>-<n>.eml, in the mailbox
directory: the message as received, after two header lines naming the
envelope (X-Envelope-From, X-Envelope-To). Files are written under a
temporary name and renamed, so a reader never sees half a message. It
delivers nothing anywhere; it is not for production. It logs like the
services: one ECS JSON object per line on stdout.

    smtp-sink.py --host 127.0.0.1 --port 2525 --dir .run/mail
"""

import argparse
import asyncio
import itertools
import json
import logging
import os
import signal
import sys
import time
from datetime import datetime, timezone

from aiosmtpd.smtp import SMTP


SERVICE = "smtp-dev"
log = logging.getLogger("smtp-sink")


class EcsFormatter(logging.Formatter):
    """One ECS JSON object per record, as souk's services write them."""

    LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warn", "ERROR": "error",
              "CRITICAL": "fatal"}

    def format(self, record):
        when = datetime.fromtimestamp(record.created, timezone.utc)
        line = {"@timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
                "log.level": self.LEVELS.get(record.levelname, "info"),
                "service.name": SERVICE, "log.logger": record.name,
                "message": record.getMessage()}
        if record.exc_info:
            line["error.message"] = str(record.exc_info[1])
            line["error.stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(line)


def setup_logging():
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(EcsFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-connection lines


class Mailbox:
    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        name = f"{time.time_ns()}-{n:06d}.eml"
        head = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode("utf-8", "replace")
        body = envelope.original_content or b""
        tmp = os.path.join(self.directory, f".{name}.tmp")
        with open(tmp, "wb") as f:
            f.write(head + body)
        os.rename(tmp, os.path.join(self.directory, name))
        log.info("kept %s (%d bytes, %d recipients)", name, len(body), len(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", required=True, help="the mailbox directory")
    args = parser.parse_args()
    setup_logging()
    os.makedirs(args.dir, exist_ok=True)
    handler = Mailbox(args.dir)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(
            lambda: SMTP(handler, enable_SMTPUTF8=True, hostname="souk-dev-smtp"),
            host=args.host,
            port=args.port,
        )
    )
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    log.info("listening on %s:%d, mailbox %s", args.host, args.port, args.dir)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # noqa: BLE001 - one JSON line, not a bare traceback
        log.exception("smtp-sink failed")
        sys.exit(1)
