//! `explain` says what intake then does: every fixture and every corpus message is explained
//! (`explain --json`, the binary, reading file names from standard input) against the desk as
//! it is, then filed by intake; the plan's actions are compared with the actions intake carried
//! out (`Engine::take_carried`), and the plan with the mail log line intake wrote:
//! verdict, ticket (an existing one, or a new one), queue, quarantine reason, class, and the
//! outgoing mail queued or suppressed with its reason (autoresponse, reject reply, request
//! answer, recipients not added, agents' notice); at the end the outbox's rows, kind and
//! recipients of each queued mail in order, are compared with the mail the plans queue. Each
//! message is explained right before it is filed, so follow-ups, duplicates and the rate limits
//! see what was filed before them.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::Instant;

use postdesk::intake::{Engine, Message, Outcome};

use crate::harness::{files_in, mail, Desk};
use crate::outgoing::header;

/// The mail log's fields of one line (`key=value`, values with spaces in double quotes).
fn log_fields(line: &str) -> std::collections::HashMap<String, String> {
    let mut fields = std::collections::HashMap::new();
    let mut rest = line;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].rsplit(' ').next().unwrap_or("").to_string();
        let after = &rest[eq + 1..];
        let (value, next) = match after.strip_prefix('"') {
            Some(q) => {
                let end = q.find('"').expect("closing quote");
                (&q[..end], &q[end + 1..])
            }
            None => {
                let end = after.find(' ').unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        fields.insert(key, value.to_string());
        rest = next;
    }
    fields
}

/// A value as the mail log writes it: control characters as spaces, at most 300 characters,
/// double quotes as single ones.
fn as_logged(v: &str) -> String {
    v.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect::<String>()
        .replace('"', "'")
}

struct Explainer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Explainer {
    fn start(desk: &Desk) -> Explainer {
        let mut child = desk
            .cmd()
            .args(["explain", "--json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start explain");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Explainer {
            child,
            stdin,
            stdout,
        }
    }

    fn plan(&mut self, file: &Path) -> serde_json::Value {
        writeln!(self.stdin, "{}", file.display()).expect("ask explain");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read explain");
        assert!(!line.is_empty(), "explain ended at {}", file.display());
        serde_json::from_str(&line).expect("explain's plan is JSON")
    }
}

struct Sweep {
    desk: Desk,
    engine: Option<Engine>,
    explain: Explainer,
    log_at: usize,
    filed: usize,
    /// Plans that leave the outgoing mail open (an agent's `#find`).
    open: usize,
    /// The mails the plans queue, in order: kind and recipients, as the outbox rows say them.
    queued: Vec<(String, Vec<String>)>,
    mismatches: Vec<String>,
    verdicts: std::collections::BTreeMap<String, usize>,
    queues: std::collections::BTreeMap<String, usize>,
    outs: std::collections::BTreeMap<String, usize>,
}

/// The mail an item of the mail log's `out` queues, as the outbox lists it (agents' notices in
/// the default pointer style: one mail to all of the queue's agents).
fn queued(item: &str) -> Option<(String, Vec<String>)> {
    let list = |s: &str| s.split(", ").map(str::to_string).collect::<Vec<_>>();
    if let Some(inner) = item.strip_prefix("agents notified (") {
        return Some(("notification".into(), list(inner.strip_suffix(')')?)));
    }
    if let Some(to) = item.strip_prefix("reject reply queued to ") {
        return Some(("autoresponse".into(), vec![to.to_string()]));
    }
    if let Some(rest) = item.strip_prefix("answered to ") {
        return Some(("autoresponse".into(), vec![rest.split_once(": ")?.0.into()]));
    }
    let (what, to) = item.split_once(" queued to ")?;
    if what.starts_with("autoresponse ") {
        return Some(("autoresponse".into(), vec![to.to_string()]));
    }
    what.starts_with("answer by ")
        .then(|| ("answer".into(), list(to)))
}

/// A desk for the sweeps: the standard queues and `rest`. The circuit breaker counts
/// autoresponses in the minute before each message, read in whole seconds: explain and intake
/// read the clock a few milliseconds apart, so when a second turns between them a count at the
/// edge of the minute differs. That is inherent to explaining before filing, not a difference of
/// decision, so the breaker is set out of reach here (its decision is compared in the unit tests
/// of `decide::policy`); the per-recipient day limit and the agents' notice limit, whose windows
/// are a day, are compared as they are.
fn sweep_desk(rest: &str) -> Desk {
    Desk::with(
        "durable = false",
        &format!("[autoresponse]\ncircuit-breaker-per-minute = 1000000\n{rest}"),
    )
}

fn open_engine(desk: &Desk) -> Engine {
    let cfg = postdesk::config::Config::load(&desk.config).expect("config");
    let mut engine = Engine::open(&cfg, &cfg.data_dir()).expect("engine");
    engine.record_actions();
    engine
}

impl Sweep {
    /// Ends explain and fails on any difference.
    fn finish(self, started: Instant) {
        let Sweep {
            explain,
            mismatches,
            filed,
            ..
        } = self;
        drop(explain.stdin);
        // The outbox's rows, the record of what was queued, against the plans: kind and
        // recipients of each mail, in order.
        drop(self.engine);
        let rows = self.desk.json(&["outbox", "list", "--json"]);
        let rows: Vec<(String, Vec<String>)> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let rcpts = r["rcpts"].as_array().unwrap();
                let rcpts = rcpts.iter().map(|a| a.as_str().unwrap().to_string());
                (r["kind"].as_str().unwrap().to_string(), rcpts.collect())
            })
            .collect();
        let mut child = explain.child;
        let status = child.wait().unwrap();
        assert!(status.success(), "explain: {status:?}");
        eprintln!(
            "explain against intake: {filed} messages in {:.1} s, verdicts {:?}, queues {:?}, outgoing {:?}, outbox rows {}",
            started.elapsed().as_secs_f64(),
            self.verdicts,
            self.queues,
            self.outs,
            rows.len()
        );
        assert!(
            mismatches.is_empty(),
            "{} of {filed} plans differ from what intake did:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
        if let Some(i) =
            (0..rows.len().max(self.queued.len())).find(|&i| rows.get(i) != self.queued.get(i))
        {
            panic!(
                "outbox row {i} of {}: {:?}, the plans queue {:?} as mail {i} of {}",
                rows.len(),
                rows.get(i),
                self.queued.get(i),
                self.queued.len()
            );
        }
    }

    fn new(desk: Desk) -> Sweep {
        let engine = Some(open_engine(&desk));
        let explain = Explainer::start(&desk);
        Sweep {
            desk,
            engine,
            explain,
            log_at: 0,
            filed: 0,
            mismatches: Vec::new(),
            verdicts: Default::default(),
            queues: Default::default(),
            outs: Default::default(),
            open: 0,
            queued: Vec::new(),
        }
    }

    /// A command of the binary (ticket close), with intake closed meanwhile as a daemon would
    /// be stopped; returns its output.
    fn cli(&mut self, args: &[&str]) -> String {
        drop(self.engine.take());
        let out = self.desk.ok(args);
        self.engine = Some(open_engine(&self.desk));
        out
    }

    /// Writes `bytes` to a file of the desk, explains and files it; returns the outcome.
    fn mail(&mut self, bytes: &[u8]) -> Outcome {
        let file = self.desk.path().join(format!("m{}.eml", self.filed + 1));
        std::fs::write(&file, bytes).unwrap();
        self.one(&file)
    }

    /// Explains `file`, files it, and compares; returns the outcome.
    fn one(&mut self, file: &Path) -> Outcome {
        let plan = self.explain.plan(file);
        let raw = std::fs::read(file).unwrap();
        self.filed += 1;
        let msg = Message {
            raw,
            source: "sweep".into(),
            name: self.filed.to_string(),
            remember: false,
            taken: Instant::now(),
            quarantine: None,
            phone: false,
            spliced: None,
        };
        let engine = self.engine.as_mut().unwrap();
        let outcome = engine
            .process(std::slice::from_ref(&msg))
            .unwrap_or_else(|e| panic!("{}: intake failed: {e}", file.display()))
            .remove(0);
        let carried: Vec<serde_json::Value> = (engine.take_carried().remove(0).iter())
            .map(|a| a.json())
            .collect();
        let log = std::fs::read_to_string(self.desk.data.join("mail.log")).unwrap();
        let lines: Vec<&str> = log[self.log_at..].lines().collect();
        self.log_at = log.len();
        assert_eq!(lines.len(), 1, "{}: {lines:?}", file.display());
        let got = log_fields(lines[0]);
        let field = |k: &str| got.get(k).cloned().unwrap_or_default();
        let or_dash = |v: &serde_json::Value| v.as_str().map(as_logged).unwrap_or("-".into());
        *self.verdicts.entry(field("verdict")).or_default() += 1;
        *self.queues.entry(field("queue")).or_default() += 1;

        let mut differ = Vec::new();
        if plan["actions"] != serde_json::Value::Array(carried.clone()) {
            differ.push(format!(
                "actions: explain {}, intake {}",
                plan["actions"],
                serde_json::Value::Array(carried)
            ));
        }
        let mut check = |what: &str, said: String, done: String| {
            if said != done {
                differ.push(format!("{what}: explain {said:?}, intake {done:?}"));
            }
        };
        check("verdict", or_dash(&plan["verdict"]), field("verdict"));
        check("class", or_dash(&plan["class"]), field("class"));
        check(
            "message-id",
            plan["message_id"]
                .as_str()
                .map(|m| as_logged(&format!("<{m}>")))
                .unwrap_or("-".into()),
            field("msgid"),
        );
        check("queue", or_dash(&plan["queue"]), field("queue"));
        check(
            "detail",
            plan["detail"].as_str().map(as_logged).unwrap_or_default(),
            field("detail"),
        );
        // The ticket: the same existing number, or a new one explain could not name (its
        // number is drawn when it is filed).
        let new = |t: &str| match &outcome {
            Outcome::Created { ticket, .. } if ticket == t => "a new one".to_string(),
            _ => t.to_string(),
        };
        check(
            "ticket",
            match plan["ticket"].as_str() {
                Some(t) => t.to_string(),
                None if plan["verdict"] == "created" => "a new one".into(),
                None => "-".into(),
            },
            new(&field("ticket")),
        );
        match plan["out"].as_array() {
            Some(out) => {
                let out: Vec<&str> = out.iter().map(|o| o.as_str().unwrap()).collect();
                for o in &out {
                    // "autoresponse new-ticket queued", "notification suppressed", ...
                    let end = [" to ", ":", " (", " names "]
                        .iter()
                        .filter_map(|s| o.find(s))
                        .min()
                        .unwrap_or(o.len());
                    let class = o[..end].to_string();
                    *self.outs.entry(class).or_default() += 1;
                    self.queued.extend(queued(o));
                }
                // An agent's mail held back: the agent is told why.
                for a in plan["actions"].as_array().unwrap() {
                    if a["action"] == "hold-answer" {
                        let agent = a["agent"].as_str().unwrap().to_string();
                        self.queued.push(("failure-notice".into(), vec![agent]));
                    }
                }
                check("out", as_logged(&out.join("; ")), field("out"));
            }
            // Only an agent's `#find` is left open: its answer is made when it is carried
            // out. The rest of its plan is compared.
            None if plan["decision"]
                .as_str()
                .is_some_and(|d| d.starts_with("answer by agent")) =>
            {
                self.open += 1;
                // The outbox rows are compared with what intake said of it.
                self.queued
                    .extend(field("out").split("; ").filter_map(queued));
            }
            None => differ.push(format!(
                "out: explain does not say, intake {:?}",
                field("out")
            )),
        }
        if !differ.is_empty() {
            self.mismatches.push(format!(
                "{} (message {}):\n    {}",
                file.display(),
                self.filed,
                differ.join("\n    ")
            ));
        }
        outcome
    }
}

#[test]
fn explain_plan_is_what_intake_does() {
    let started = Instant::now();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fixtures = files_in(&repo.join("maildir-fixtures/new"));
    let mut files = fixtures.clone();
    let corpus = repo.join("../shared/corpus");
    match std::fs::read_to_string(corpus.join("files.tsv")) {
        Ok(list) => files.extend(
            list.lines()
                .skip(1)
                .map(|l| corpus.join(l.split('\t').next().unwrap())),
        ),
        Err(_) => eprintln!(
            "explain against intake: only the fixtures, {} does not exist (CI always has it)",
            corpus.display()
        ),
    }
    // The fixtures once more: now every one is a duplicate of what was filed.
    files.extend(fixtures.iter().cloned());
    let mut sweep = Sweep::new(sweep_desk(""));
    for f in &files {
        sweep.one(f);
    }
    // Neither the fixtures nor the corpus hold an agent's answer: every plan is compared whole.
    assert_eq!(sweep.open, 0);
    sweep.finish(started);
}

/// With `agent-notice = "digest"` the plans say that the agents are told in their next digest,
/// as intake's mail log does, and that nothing is queued for them per message.
#[test]
fn explain_plan_is_what_intake_does_with_digest_notices() {
    let started = Instant::now();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut sweep = Sweep::new(sweep_desk("agent-notice = \"digest\"\n"));
    for f in &files_in(&repo.join("maildir-fixtures/new")) {
        sweep.one(f);
    }
    let told = sweep.outs.get("agents notified in the next digest");
    assert!(told.is_some_and(|n| *n > 0), "{:?}", sweep.outs);
    assert!(
        !sweep.outs.contains_key("agents notified"),
        "{:?}",
        sweep.outs
    );
    sweep.finish(started);
}

/// Every decision and every kind of outgoing mail, on made-up mail: a request answered and one
/// not, a filter's reject with its reply, a duplicate of a quarantined message, a follow-up
/// naming others, automatic mail to a closed ticket, a reopen, a closed ticket's new ticket, a
/// queue rejecting follow-ups (whose agents are told), a queue no agent works in, an agent's
/// answer and an agent's automatic mail, and the per-recipient and per-sender limits.
#[test]
fn explain_plan_is_what_intake_does_for_every_decision() {
    let started = Instant::now();
    let desk = sweep_desk(
        r#"[directory]
file = "directory.toml"

[[queue]]
name = "Strict"
addresses = ["strict@company.example"]
on-closed = "reject"

[[agent]]
name = "Bob Agent"
address = "bob@company.example"
queues = ["Strict"]
"#,
    );
    std::fs::write(
        desk.path().join("directory.toml"),
        "[[person]]\nfirst-name = \"Maria\"\nlast-name = \"M\u{fc}ller\"\nmail = [\"maria@acme.example\"]\n",
    )
    .unwrap();
    std::fs::write(
        desk.path().join("filters/55-offers.sieve"),
        "require \"reject\";\nif header :contains \"subject\" \"unwanted\" { reject \"We do not take offers by mail.\"; }\n",
    )
    .unwrap();
    let mut sweep = Sweep::new(desk);
    let auto = "Auto-Submitted: auto-replied\r\n";
    let maria = "Maria <maria@acme.example>";
    let number = |o: Outcome| match o {
        Outcome::Created { ticket, .. } => ticket,
        o => panic!("{o:?}"),
    };
    let n1 = number(sweep.mail(&mail(
        maria,
        "support@company.example",
        "Login fails",
        "e1@acme.example",
        "",
        "It fails.",
    )));
    let n2 = number(sweep.mail(&mail(
        maria,
        "phone@company.example",
        "Call me",
        "e2@acme.example",
        "",
        "Please.",
    )));
    let tag = |n: &str, s: &str| format!("Re: [Ticket#{n}] {s}");
    sweep.mail(&mail(
        "mallory@evil.example",
        "support@company.example",
        &tag(&n1, "Login fails"),
        "e3@evil.example",
        "",
        "Me too.",
    ));
    sweep.mail(&mail(
        maria,
        "support@company.example",
        "Question",
        "e4@acme.example",
        "",
        "#tickets",
    ));
    sweep.mail(&mail(
        "robot@acme.example",
        "support@company.example",
        "Question",
        "e5@acme.example",
        auto,
        "#tickets",
    ));
    let offer = mail(
        "seller@offers.example",
        "support@company.example",
        "unwanted offer",
        "e6@offers.example",
        "",
        "Buy.",
    );
    sweep.mail(&offer);
    sweep.mail(&offer);
    sweep.mail(&mail(
        maria,
        "support@company.example",
        &tag(&n1, "Login fails"),
        "e7@acme.example",
        "Cc: chef@acme.example\r\n",
        "Still.",
    ));
    sweep.cli(&["ticket", "close", &n1]);
    sweep.mail(&mail(
        maria,
        "support@company.example",
        &tag(&n1, "Login fails"),
        "e8@acme.example",
        auto,
        "I am away.",
    ));
    sweep.mail(&mail(
        maria,
        "support@company.example",
        &tag(&n1, "Login fails"),
        "e9@acme.example",
        "",
        "Again.",
    ));
    sweep.cli(&["ticket", "close", &n2]);
    sweep.mail(&mail(
        maria,
        "phone@company.example",
        &tag(&n2, "Call me"),
        "e10@acme.example",
        "",
        "Again.",
    ));
    let n3 = number(sweep.mail(&mail(
        "a@example.org",
        "strict@company.example",
        "Frage",
        "e11@example.org",
        "",
        "?",
    )));
    sweep.cli(&["ticket", "close", &n3]);
    sweep.mail(&mail(
        "a@example.org",
        "strict@company.example",
        &tag(&n3, "Frage"),
        "e12@example.org",
        "",
        "??",
    ));
    // Alice answers through the reply address of the stored article.
    let stored = sweep.cli(&["ticket", "show", &n1, "--json"]);
    let show: serde_json::Value = serde_json::from_str(&stored).unwrap();
    let article = std::fs::read_to_string(show["articles"][0]["path"].as_str().unwrap()).unwrap();
    let reply = header(&article, "Reply-To").unwrap();
    let alice = "Alice Agent <alice@company.example>";
    sweep.mail(&mail(
        alice,
        &reply,
        &tag(&n1, "Login fails"),
        "e13@company.example",
        "",
        "#priority high\r\n\r\nFixed.",
    ));
    sweep.mail(&mail(
        alice,
        &reply,
        &tag(&n1, "Login fails"),
        "e14@company.example",
        auto,
        "Out of office.",
    ));
    // A command that cannot be carried out holds the whole mail back; a note moves the ticket.
    sweep.mail(&mail(
        alice,
        &reply,
        &tag(&n1, "Login fails"),
        "e15@company.example",
        "",
        "#owner nobody\r\n\r\nMine.",
    ));
    sweep.mail(&mail(
        alice,
        &reply,
        &tag(&n1, "Login fails"),
        "e16@company.example",
        "",
        "#note\r\n#queue Billing\r\n\r\nFor billing.",
    ));
    // Eleven from one sender: the tenth notice says it is the last, the eleventh autoresponse
    // and notice are held back.
    for i in 0..11 {
        sweep.mail(&mail(
            "flood@example.org",
            "support@company.example",
            &format!("Flood {i}"),
            &format!("f{i}@example.org"),
            "",
            "x",
        ));
    }
    let seen: Vec<&str> = sweep.verdicts.keys().map(String::as_str).collect();
    assert_eq!(
        seen,
        [
            "answer",
            "created",
            "duplicate",
            "follow-up",
            "note",
            "quarantined",
            "reopened",
            "request"
        ]
    );
    assert_eq!(
        sweep.open, 0,
        "an agent's answer's commands and relay are in its plan too"
    );
    sweep.finish(started);
}
