#!/usr/bin/python3
"""The development SMTP server of `make run` and the test stack.

It accepts every message (aiosmtpd, RFC 5321 with 8BITMIME and SMTPUTF8) and
keeps each one as a file of its own, <nanoseconds>-<n>.eml, in the mailbox
directory: the message as received, after two header lines naming the
envelope (X-Envelope-From, X-Envelope-To). Files are written under a
temporary name and renamed, so a reader never sees half a message. It
delivers nothing anywhere; it is not for production.

    smtp-sink.py --host 127.0.0.1 --port 2525 --dir .run/mail
"""

import argparse
import asyncio
import itertools
import os
import signal
import sys
import time

from aiosmtpd.smtp import SMTP


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
        return "250 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", required=True, help="the mailbox directory")
    args = parser.parse_args()
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
    print(f"smtp-sink: listening on {args.host}:{args.port}, mailbox {args.dir}", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
