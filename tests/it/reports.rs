//! Service reports: the figures agree with what `ticket show` says of every ticket (computed
//! here independently from its history), the PDF prints charts and text (rendered by poppler),
//! the HTML renders in Chromium without console errors.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::harness::{drop_mail, post, Desk};
use crate::outgoing::header;

/// A help desk's day: six customers' tickets in two queues, agents' answers (one with
/// `#close`), a close from the command line, and a customer's follow-up that reopens.
fn busy_desk() -> Desk {
    // Support's tickets have a service level (long enough that no deadline falls due while the
    // test runs, so report and `ticket show`, asked moments apart, see the same states).
    let sla = "[[sla]]\nname = \"standard\"\nfirst-response = \"100h\"\nsolution = \"200h\"\n";
    let desk = Desk::with("", sla);
    let text = fs::read_to_string(&desk.config).unwrap();
    let text = text.replacen(
        "name = \"Support\"\n",
        "name = \"Support\"\nsla = \"standard\"\n",
        1,
    );
    fs::write(&desk.config, text).unwrap();
    let md = desk.maildir("in");
    let asks = [
        ("support@company.example", "Printer on fire", "p1"),
        ("support@company.example", "Cannot log in", "p2"),
        (
            "support@company.example",
            "<b>Bold</b> & \"quoted\" subject",
            "p3",
        ),
        ("billing@company.example", "Rechnung falsch", "p4"),
        ("billing@company.example", "Mahnung", "p5"),
        ("support@company.example", "Grüße aus Köln", "p6"),
    ];
    for (i, (to, subject, id)) in asks.iter().enumerate() {
        post(
            &md,
            &format!("Customer {i} <c{i}@example.org>"),
            to,
            subject,
            &format!("{id}@example.org"),
            "",
            "Please help.",
        );
        // Distinct creation times, so the longest open tickets have one order.
        desk.drain(&md);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let answer = |subject: &str, commands: &str, id: &str| {
        let n = desk.number_of(subject);
        let show = desk.show(&n);
        let stored = fs::read_to_string(show["articles"][0]["path"].as_str().unwrap()).unwrap();
        let reply_to = header(&stored, "Reply-To").unwrap();
        let mail = format!(
            "From: Alice Agent <alice@company.example>\r\nTo: {reply_to}\r\nSubject: Re: [Ticket#{n}] x\r\nMessage-ID: <{id}@company.example>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{commands}We are on it.\r\n"
        );
        drop_mail(&md, mail.as_bytes());
        desk.drain(&md);
        n
    };
    answer("Printer on fire", "", "a1");
    answer("Rechnung falsch", "#close\r\n\r\n", "a2");
    let n = answer("Cannot log in", "", "a3");
    desk.ok(&["ticket", "close", &n]);
    answer("Mahnung", "", "a4");
    // The customer writes again: the closed ticket reopens.
    post(
        &md,
        "Customer 1 <c1@example.org>",
        "support@company.example",
        &format!("Re: [Ticket#{n}] Cannot log in"),
        "p2b@example.org",
        "",
        "Still cannot log in.",
    );
    desk.drain(&md);
    desk
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The nearest-rank percentile, as the README defines it.
fn percentile(v: &mut [i64], p: usize) -> Option<i64> {
    v.sort_unstable();
    if v.is_empty() {
        return None;
    }
    Some(v[(v.len() * p).div_ceil(100).max(1) - 1])
}

fn agent(detail: &str) -> String {
    let who = detail.strip_prefix("by ").unwrap_or(detail);
    who.split(" (").next().unwrap().trim().to_string()
}

#[derive(Default, Debug, PartialEq)]
struct Expected {
    opened: u64,
    closed: u64,
    backlog: i64,
    first_response: Vec<i64>,
    solution: Vec<i64>,
}

#[test]
fn report_agrees_with_ticket_show() {
    let desk = busy_desk();
    let today = Utc::now().date_naive().to_string();
    let report = desk.json(&[
        "report", "--from", &today, "--to", &today, "--format", "json",
    ]);

    // The same figures from `ticket show` of every ticket.
    let mut queues: BTreeMap<String, Expected> = BTreeMap::new();
    let mut agents: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut open = Vec::new();
    let mut deadlines: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for t in desk.tickets() {
        let show = desk.show(t["number"].as_str().unwrap());
        let q = queues
            .entry(show["queue"].as_str().unwrap().into())
            .or_default();
        let created = time(show["created"].as_str().unwrap());
        q.opened += 1;
        let mut is_open = true;
        let (mut answered, mut closed) = (false, false);
        for e in show["history"].as_array().unwrap() {
            let at = time(e["at"].as_str().unwrap());
            let detail = e["detail"].as_str().unwrap();
            match e["event"].as_str().unwrap() {
                "answer" => {
                    agents.entry(agent(detail)).or_default().0 += 1;
                    if !answered {
                        q.first_response.push((at - created).num_seconds());
                        answered = true;
                    }
                }
                "closed" => {
                    agents.entry(agent(detail)).or_default().1 += 1;
                    q.closed += 1;
                    is_open = false;
                    if !closed {
                        q.solution.push((at - created).num_seconds());
                        closed = true;
                    }
                }
                "reopened" => is_open = true,
                _ => {}
            }
        }
        if show["queue"] == "Support" {
            for d in show["deadlines"].as_array().unwrap() {
                let e = deadlines
                    .entry(d["clock"].as_str().unwrap().to_string())
                    .or_default();
                match d["state"].as_str().unwrap() {
                    "met" => e.0 += 1,
                    "missed" | "breached" => e.1 += 1,
                    _ => e.2 += 1,
                }
            }
        }
        if is_open {
            q.backlog += 1;
            open.push((
                show["created"].as_str().unwrap().to_string(),
                show["number"].as_str().unwrap().to_string(),
            ));
        }
    }
    assert_eq!(queues.len(), 2, "{queues:?}");
    assert_eq!(queues["Support"].opened, 4);
    assert!(agents.contains_key("cli"), "{agents:?}");

    let per_queue = report["per_queue"].as_array().unwrap();
    let names: Vec<&str> = per_queue
        .iter()
        .map(|q| q["queue"].as_str().unwrap())
        .collect();
    assert_eq!(names, queues.keys().map(String::as_str).collect::<Vec<_>>());
    let mut all = Expected::default();
    for q in per_queue {
        let want = queues.get_mut(q["queue"].as_str().unwrap()).unwrap();
        check(q, want, &today);
        all.opened += want.opened;
        all.closed += want.closed;
        all.backlog += want.backlog;
        all.first_response.extend(&want.first_response);
        all.solution.extend(&want.solution);
    }
    check(&report["totals"], &mut all, &today);

    open.sort();
    let longest: Vec<&str> = report["longest_open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        longest,
        open.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>()
    );
    let got: BTreeMap<String, (u64, u64)> = report["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let n = |k: &str| a[k].as_u64().unwrap();
            (
                a["agent"].as_str().unwrap().to_string(),
                (n("answers"), n("closed")),
            )
        })
        .collect();
    assert_eq!(got, agents);

    // Service levels: Support's deadlines as `ticket show` works them out; Billing has none.
    let sla: BTreeMap<String, (u64, u64, u64)> = report["sla"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["by"] == "queue")
        .map(|c| {
            assert_eq!(c["name"], "Support", "{c}");
            let n = |k: &str| c[k].as_u64().unwrap();
            let clock = c["clock"].as_str().unwrap().to_string();
            (clock, (n("met"), n("breached"), n("running")))
        })
        .collect();
    assert_eq!(sla, deadlines);
    assert_eq!(
        sla["first-response"].0, 2,
        "two of Support's tickets were answered"
    );

    // CSV carries the same numbers.
    let csv = desk.ok(&[
        "report", "--from", &today, "--to", &today, "--format", "csv",
    ]);
    let line = format!("queue,Support,,opened,{}", queues["Support"].opened);
    assert!(csv.lines().any(|l| l == line), "{line} in\n{csv}");
    // Nothing in the period: zeros, not an error.
    let empty = desk.json(&["report", "--from", "2020-01-01", "--to", "2020-01-31"]);
    assert_eq!(empty["totals"]["opened"], 0);
    assert_eq!(empty["totals"]["days"].as_array().unwrap().len(), 31);
    // A queue that does not exist is a usage error.
    let out = desk.run(&["report", "--queue", "Nope"]);
    assert_eq!(out.status.code(), Some(64));
}

fn check(q: &Value, want: &mut Expected, today: &str) {
    let name = q["queue"].as_str().unwrap();
    assert_eq!(q["opened"], want.opened, "{name}");
    assert_eq!(q["closed"], want.closed, "{name}");
    assert_eq!(q["backlog"], want.backlog, "{name}");
    let day = &q["days"][0];
    assert_eq!(day["date"], today);
    assert_eq!(
        (&day["opened"], &day["backlog"]),
        (&q["opened"], &q["backlog"])
    );
    for (key, values) in [
        ("first_response", &mut want.first_response),
        ("solution", &mut want.solution),
    ] {
        let s = &q[key];
        assert_eq!(s["count"], values.len() as u64, "{name} {key}");
        assert_eq!(
            s["median_seconds"],
            serde_json::json!(percentile(values, 50)),
            "{name} {key}"
        );
        assert_eq!(
            s["p90_seconds"],
            serde_json::json!(percentile(values, 90)),
            "{name} {key}"
        );
        let bucketed: u64 = s["distribution"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum();
        assert_eq!(bucketed, values.len() as u64, "{name} {key}");
    }
}

/// Pixels of a decoded page that are not white, in a band of rows (fractions of the height).
fn inked(png: &Path, top: f64, bottom: f64) -> usize {
    let decoder = png::Decoder::new(std::io::BufReader::new(fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let rows = (h as f64 * top) as usize..(h as f64 * bottom) as usize;
    rows.flat_map(|y| (0..w).map(move |x| (y * w + x) * channels))
        .filter(|&i| buf[i..i + channels.min(3)].iter().any(|&v| v < 200))
        .count()
}

#[test]
fn pdf_prints_title_charts_and_tables() {
    let desk = busy_desk();
    let today = Utc::now().date_naive().to_string();
    let week_ago = (Utc::now().date_naive() - chrono::Duration::days(6)).to_string();
    let pdf = desk.path().join("report.pdf");
    let out = desk.path().join("page");
    let path = pdf.to_str().unwrap();
    desk.ok(&["report", "--from", &week_ago, "--to", &today, "--out", path]);
    assert!(fs::read(&pdf).unwrap().starts_with(b"%PDF-"));

    let text = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(text.status.success(), "{text:?}");
    let text = String::from_utf8(text.stdout).unwrap();
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert!(pages.len() >= 3, "{text}");
    let period = format!("{week_ago} to {today}");
    assert!(
        pages[0].contains("Service report") && pages[0].contains(&period),
        "{}",
        pages[0]
    );
    assert!(
        pages[0].contains("Queues: Billing, Support"),
        "{}",
        pages[0]
    );
    for (i, p) in pages.iter().enumerate() {
        assert!(
            p.contains(&format!("page {} of {}", i + 1, pages.len())),
            "{p}"
        );
    }
    for words in [
        "Tickets opened and closed per day",
        "Backlog",
        "First response and solution times",
        "longest open tickets",
        "Per agent",
        "Alice Agent",
        "Service levels",
        "Queue Support",
        "Grüße aus Köln",
        "<b>Bold</b> & \"quoted\" subject",
    ] {
        assert!(text.contains(words), "{words:?} in\n{text}");
    }

    let done = Command::new("pdftoppm")
        .args(["-png", "-r", "50"])
        .arg(&pdf)
        .arg(&out)
        .status()
        .unwrap();
    assert!(done.success());
    let png = |n: usize| {
        let digits = pages.len().to_string().len();
        desk.path().join(format!("page-{n:0digits$}.png"))
    };
    // The title page has text only near its top half; page 2 holds two charts, one above the
    // other, each drawing a good share of its area (bars, lines, axes).
    assert_eq!(
        inked(&png(1), 0.7, 0.95),
        0,
        "the title page's lower part is blank"
    );
    let upper = inked(&png(2), 0.08, 0.45);
    let lower = inked(&png(2), 0.48, 0.85);
    assert!(
        upper > 2000 && lower > 2000,
        "charts drawn: {upper} {lower}"
    );
    assert!(inked(&png(3), 0.08, 0.4) > 2000, "the times chart is drawn");
}

#[test]
fn html_renders_in_chromium_without_console_errors() {
    let desk = busy_desk();
    let today = Utc::now().date_naive();
    let week_ago = (today - chrono::Duration::days(6)).to_string();
    let html = desk.path().join("report.html");
    let path = html.to_str().unwrap();
    desk.ok(&[
        "report",
        "--from",
        &week_ago,
        "--to",
        &today.to_string(),
        "--out",
        path,
    ]);
    let page = fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches("<svg").count(), 3, "three charts inline");
    assert!(page.contains("&lt;b&gt;Bold&lt;/b&gt; &amp; &quot;quoted&quot; subject"));
    assert!(!page.contains("<b>Bold</b>"), "customer text is no markup");

    let shot = desk.path().join("shot.png");
    let out = chromium(&desk, &html, &shot);
    assert!(shot.exists(), "no screenshot: {out}");
    let console: Vec<&str> = out.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    // The first chart sits below the heading: the screenshot shows it.
    assert!(inked(&shot, 0.2, 0.6) > 5000, "a chart is on the screen");
}

/// Chromium's screenshot of `page` with its console logged to stderr (returned).
pub(crate) fn chromium(desk: &Desk, page: &Path, shot: &Path) -> String {
    let profile = desk.path().join("chromium-profile");
    let mut c = Command::new("chromium");
    c.args(["--headless", "--disable-gpu", "--hide-scrollbars"])
        .args([
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1000,1300",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()));
    // As root Chromium's sandbox cannot start.
    if unsafe { libc::geteuid() } == 0 {
        c.arg("--no-sandbox");
    }
    let out = c.output().expect("chromium");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stop(child: &mut std::process::Child, signal: &str) {
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let t = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(t.elapsed().as_secs() < 20, "the daemon did not stop");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let t = std::time::Instant::now();
    while !f() {
        assert!(t.elapsed().as_secs() < secs, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A desk whose `[[report]]` (`extra` keys after its name and recipient) was due a minute ago,
/// every day, sending through the sink.
fn desk_with_report_due(sink: &crate::services::SmtpSink, extra: &str) -> Desk {
    let moment = (Utc::now() - chrono::Duration::minutes(1)).format("%H:%M");
    let rest = format!(
        "[outgoing]\ntransport = \"smtp\"\n[outgoing.smtp]\nport = {}\ntimeout-seconds = 5\n\n\
         [[report]]\nname = \"daily\"\nto = [\"lead@company.example\"]\n\
         every = \"daily {moment}\"\nperiod = \"yesterday\"\n{extra}",
        sink.port
    );
    Desk::with("", &rest)
}

/// A report due a minute ago is mailed when the daemon starts (as after a machine was down at
/// its moment), once: a restart right after, and another one killed with -9, send nothing more.
#[test]
fn a_scheduled_report_is_mailed_once_across_restarts() {
    use crate::outgoing::to;
    let sink = crate::services::SmtpSink::start();
    let desk = desk_with_report_due(&sink, "queues = [\"Support\"]\n");
    desk.ok(&["check"]);
    let lead = "lead@company.example";
    for round in 0..3 {
        let mut child = desk.daemon();
        if round == 0 {
            wait_for("the report to be mailed", 30, || to(&sink, lead).len() == 1);
        } else {
            wait_for("the daemon", 20, || {
                desk.json(&["status", "--json"])["daemon"]["running"] == true
            });
            // Its first round has checked the schedule; give a second report time to leave.
            std::thread::sleep(std::time::Duration::from_secs(2));
        }
        // The last start ends with kill -9: nothing is sent on the way down either.
        stop(&mut child, if round == 2 { "-KILL" } else { "-TERM" });
    }
    let got = to(&sink, lead);
    assert_eq!(got.len(), 1, "mailed once");
    let (raw, env) = &got[0];
    let env: Value = serde_json::from_str(env).unwrap();
    assert_eq!(env["mail_from"], "<>", "the null sender");
    assert!(
        header(raw, "Subject")
            .unwrap()
            .starts_with("Service report 20"),
        "{raw}"
    );
    assert_eq!(header(raw, "Auto-Submitted").unwrap(), "auto-generated");
    assert!(header(raw, "From")
        .unwrap()
        .contains("support@company.example"));
    assert!(raw.contains("application/pdf"), "{raw}");
    // The attachment is the PDF.
    let part = raw.split("Content-Type: application/pdf").nth(1).unwrap();
    assert!(part.contains("service-report-"), "{part}");
    let b64: String = part
        .split("\r\n\r\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.starts_with("--"))
        .collect();
    use base64::Engine as _;
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let reports = reports_queued(&desk);
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0]["state"], "sent");
}

/// Killed with -9 at random moments while it makes, queues and sends a due report, the daemon
/// still mails it, once: every mail that reaches the sink carries the one Message-ID (a kill
/// between the server's acceptance and the outbox's record may hand the same mail over again,
/// as for every mail), and a later start queues nothing more.
#[test]
fn a_scheduled_report_survives_kills_and_goes_out_once() {
    use crate::outgoing::to;
    use rand::Rng;
    let sink = crate::services::SmtpSink::start();
    let desk = desk_with_report_due(&sink, "format = \"html\"\n");
    let lead = "lead@company.example";
    let mut rng = rand::rng();
    // Kills before, while and after it makes, queues and sends the report.
    let mut before = 0;
    for _ in 0..6 {
        let mut child = desk.daemon();
        std::thread::sleep(std::time::Duration::from_millis(rng.random_range(5..200)));
        stop(&mut child, "-KILL");
        before += to(&sink, lead).is_empty() as u32;
    }
    eprintln!("{before} of 6 kills before the report was mailed");
    let mut child = desk.daemon();
    wait_for("the report to be mailed", 30, || {
        !to(&sink, lead).is_empty()
    });
    std::thread::sleep(std::time::Duration::from_secs(1));
    stop(&mut child, "-TERM");
    let mut child = desk.daemon();
    wait_for("the daemon", 20, || {
        desk.json(&["status", "--json"])["daemon"]["running"] == true
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    stop(&mut child, "-TERM");
    let ids: std::collections::BTreeSet<String> = to(&sink, lead)
        .iter()
        .map(|(raw, _)| header(raw, "Message-ID").unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "one report: {ids:?}");
    assert_eq!(reports_queued(&desk).len(), 1);
}

/// The outbox's scheduled reports.
fn reports_queued(desk: &Desk) -> Vec<Value> {
    let outbox = desk.json(&["outbox", "list", "--json"]);
    outbox
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["kind"] == "report")
        .cloned()
        .collect()
}
