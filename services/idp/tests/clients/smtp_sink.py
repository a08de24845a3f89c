"""A real SMTP server (aiosmtpd) for services/idp/tests/messages_delivery.rs.

    python smtp_sink.py --port PORT --out DIR [--fail-first N]

Accepts mail on 127.0.0.1:PORT and writes every accepted message to DIR/<n>.json
({mail_from, rcpt_tos, message_id, subject, body}); answers `451` (a transient failure, the
client must retry) to the first N DATA commands, noting their Message-ID in DIR/rejected-<n>.txt;
answers `550` (permanent: the client must not retry) to RCPT TO:<nobody@…>, noting each refusal
in DIR/refused-rcpt-<n>.txt. Prints READY once it accepts connections.
"""

import argparse
import email
import email.policy
import json
import os
import threading
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out, fail_first):
        self.out = out
        self.fail_first = fail_first
        self.attempts = 0
        self.accepted = 0
        self.refused = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A mailbox that does not exist: a permanent failure the client must not retry.
        if address.startswith("nobody@"):
            with self.lock:
                self.refused += 1
                n = self.refused
            with open(os.path.join(self.out, f"refused-rcpt-{n:06d}.txt"), "w") as f:
                f.write(address)
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.attempts += 1
            if self.attempts <= self.fail_first:
                with open(os.path.join(self.out, f"rejected-{self.attempts:06d}.txt"), "w") as f:
                    f.write(str(msg["Message-ID"]))
                return "451 4.3.0 Temporary failure, try again later"
            self.accepted += 1
            n = self.accepted
        body = msg.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "message_id": msg["Message-ID"],
            "subject": msg["Subject"],
            "body": body.get_content() if body is not None else "",
        }
        tmp = os.path.join(self.out, f".{n:06d}.tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.out, f"{n:06d}.json"))
        return "250 OK"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--fail-first", type=int, default=0)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    controller = Controller(Sink(a.out, a.fail_first), hostname="127.0.0.1", port=a.port)
    controller.start()
    print("READY", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
