# SMTP sink for tests/it/services.rs (SERVICES.md section 4), needs aiosmtpd (Debian: python3-aiosmtpd).
# python3 smtp_sink.py 127.0.0.1 PORT OUTDIR -> OUTDIR/<ns>.eml (raw bytes) + OUTDIR/<ns>.json (envelope, written last).
# RCPT to reject...@ -> 550, tempfail...@ -> 451, everything else accepted. The files exist before the 250 reply.
# POSTDESK_SINK_DELAY (seconds) in the environment delays each DATA reply (a slow relay).
import asyncio, json, os, sys, time
from aiosmtpd.smtp import SMTP
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
delay = float(os.environ.get("POSTDESK_SINK_DELAY") or 0)
os.makedirs(out, exist_ok=True)
class Sink:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"): return "550 5.1.1 rejected by test sink"
        if address.startswith("tempfail"): return "451 4.3.0 temporary failure (test sink)"
        envelope.rcpt_tos.append(address); return "250 OK"
    async def handle_DATA(self, server, session, envelope):
        if delay: await asyncio.sleep(delay)
        base = os.path.join(out, str(time.time_ns()))
        with open(base + ".eml", "wb") as f: f.write(envelope.original_content)
        with open(base + ".tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "mail_options": envelope.mail_options, "helo": session.host_name}, f)
        os.rename(base + ".tmp", base + ".json")
        return "250 2.0.0 OK stored"
async def main():
    srv = await asyncio.get_running_loop().create_server(
        lambda: SMTP(Sink(), enable_SMTPUTF8=True, decode_data=False), host, port)
    print(f"listening {host}:{port}", flush=True); await srv.serve_forever()
asyncio.run(main())
