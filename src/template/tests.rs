//! Tests of the whole set against template folders written into a temporary directory, and of
//! the shipped `templates/` folder.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A fresh folder under the system's temporary directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(files: &[(&str, &[u8])]) -> Dir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let root = std::env::temp_dir().join(format!("postdesk-tmpl-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        std::fs::create_dir_all(&root).unwrap();
        Dir(root)
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const ACK: &[u8] = b"Subject: {{ ticket.tag }} {{ ticket.subject }}\n\nThank you.\n";

fn load(dir: &Dir) -> Templates {
    Templates::load(&dir.0).unwrap_or_else(|e| panic!("load failed: {e:#?}"))
}

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

#[test]
fn templates_are_send_and_sync() {
    fn assert<T: Send + Sync>() {}
    assert::<Templates>();
}

#[test]
fn customer_text_is_never_compiled() {
    let dir = Dir::new(&[(
        "en/agent-notify.txt",
        b"Subject: {{ ticket.tag }} {{ article.subject }}\n\n{{ article.subject }}\n{{ article.body | quote }}",
    )]);
    let set = load(&dir);
    let mut ctx = Context::sample();
    ctx.ticket.tag = "[Ticket#2016010110000019]".into();
    ctx.article.subject = "{{ 7*7 }}".into();
    ctx.article.body = "{% for x in y %}{{ x }}{% endfor %}\n{{ range(10) }}".into();
    let r = set
        .render("agent-notify", "en", "Support", &ctx)
        .unwrap()
        .unwrap();
    assert_eq!(
        r.subject.as_deref(),
        Some("[Ticket#2016010110000019] {{ 7*7 }}")
    );
    assert_eq!(
        r.body,
        "{{ 7*7 }}\n> {% for x in y %}{{ x }}{% endfor %}\n> {{ range(10) }}"
    );
}

#[test]
fn crlf_in_customer_text_cannot_add_a_header() {
    let dir = Dir::new(&[("en/new-ticket.txt", ACK)]);
    let set = load(&dir);
    let mut ctx = Context::sample();
    ctx.ticket.subject = "Hello\r\nBcc: evil@example.com\r\n\r\nbody".into();
    let r = set
        .render("new-ticket", "en", "Support", &ctx)
        .unwrap()
        .unwrap();
    let subject = r.subject.unwrap();
    assert!(!subject.contains(['\r', '\n']), "{subject:?}");
    assert_eq!(
        subject,
        "[Ticket#2016010110000019] Hello  Bcc: evil@example.com    body"
    );
    assert_eq!(r.body, "Thank you.\n");
}

#[test]
fn includes_reach_only_the_set_and_loops_run_out_of_fuel() {
    let dir = Dir::new(&[
        (
            "en/signature.txt",
            b"{% if agent %}{{ agent.name }}{% endif %}\n",
        ),
        (
            "en/salutation.txt",
            b"Dear customer,\n{% include \"en/signature.txt\" %}",
        ),
        ("en/responses/passwd.txt", b"{% include \"/etc/passwd\" %}"),
        (
            "en/responses/dots.txt",
            b"{% include \"../../../etc/passwd\" %}",
        ),
        (
            "en/responses/forever.txt",
            b"{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        ),
        (
            "en/responses/self.txt",
            b"x{% include \"en/responses/self.txt\" %}",
        ),
    ]);
    let set = load(&dir);
    let ctx = Context::sample();
    let r = set
        .render("salutation", "en", "Support", &ctx)
        .unwrap()
        .unwrap();
    // trim_blocks: the newline after `{% endif %}` goes.
    assert_eq!(r.body, "Dear customer,\nJana Novak");
    for name in ["passwd", "dots"] {
        let e = set.response(name, "en", "Support", &ctx).unwrap_err();
        assert!(e.message.contains("template not found"), "{e}");
        assert_eq!(e.file, dir.file(&format!("en/responses/{name}.txt")));
        assert_eq!(e.line, Some(1));
    }
    let e = set.response("forever", "en", "Support", &ctx).unwrap_err();
    assert!(e.message.contains("ran too long"), "{e}");
    assert!(set.response("self", "en", "Support", &ctx).is_err());
}

#[test]
fn unknown_variable_is_reported_with_the_file_line() {
    let dir = Dir::new(&[
        ("en/signature.txt", b"Kind regards\n\n{{ ticket.nmber }}\n"),
        // Two header lines before the body: body line 2 is file line 4.
        (
            "en/follow-up.txt",
            b"Subject: {{ ticket.tag }}\n\nThanks.\n{{ customr.name }}\n",
        ),
        ("en/reopened.txt", b"Subject: {{ ticket.tga }}\n\nBody\n"),
    ]);
    let set = load(&dir);
    let errors = set.check();
    let found = |file: &str, line: usize, what: &str| {
        errors
            .iter()
            .any(|e| e.file == dir.file(file) && e.line == Some(line) && e.message.contains(what))
    };
    assert!(
        found("en/signature.txt", 3, "`ticket.nmber`"),
        "{errors:#?}"
    );
    assert!(
        found("en/follow-up.txt", 4, "`customr.name`"),
        "{errors:#?}"
    );
    assert!(found("en/reopened.txt", 1, "`ticket.tga`"), "{errors:#?}");
    assert_eq!(errors.len(), 3, "{errors:#?}");
    let shown = errors
        .iter()
        .find(|e| e.line == Some(3))
        .unwrap()
        .to_string();
    assert!(shown.ends_with("en/signature.txt:3: undefined value `ticket.nmber` (a misspelt name, or an optional value used without `{% if %}`)"), "{shown}");
    // The same error at render time.
    let e = set
        .render("signature", "en", "Support", &Context::sample())
        .unwrap_err();
    assert_eq!((e.file, e.line), (dir.file("en/signature.txt"), Some(3)));
}

#[test]
fn check_reaches_untaken_branches_and_unset_optionals() {
    let dir = Dir::new(&[
        (
            "en/agent-notify.txt",
            b"Subject: x\n\n{% if event == \"reopened\" %}\nReopened {{ tikcet.number }}\n{% elif event == \"nonsense\" %}\n{{ ticket.nope }}\n{% endif %}\n",
        ),
        ("en/new-ticket.txt", b"Subject: {{ ticket.tag }}\n\nDear {{ agent.name }}\n"),
    ]);
    let set = load(&dir);
    let errors = set.check();
    let at = |file: &str, line: usize| {
        errors
            .iter()
            .filter(|e| e.file == dir.file(file) && e.line == Some(line))
            .count()
    };
    // Reached by the `reopened` sample.
    assert_eq!(at("en/agent-notify.txt", 4), 1, "{errors:#?}");
    // Reached by no sample: found by name.
    assert_eq!(at("en/agent-notify.txt", 6), 1, "{errors:#?}");
    // `agent` is unset in autoresponses: reading agent.name without {% if agent %} fails.
    assert_eq!(at("en/new-ticket.txt", 3), 1, "{errors:#?}");
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn syntax_errors_fail_load_with_every_file_and_line() {
    let dir = Dir::new(&[
        (
            "en/new-ticket.txt",
            b"Subject: {{ ticket.tag }}\n\nHello\n{% if %}\n{% endif %}\n",
        ),
        ("en/follow-up.txt", b"Subject: {{ ticket.tag }\n\nok\n"),
        ("en/signature.txt", b"fine\n"),
    ]);
    let errors = Templates::load(&dir.0).err().expect("load must fail");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    let e = errors
        .iter()
        .find(|e| e.file == dir.file("en/new-ticket.txt"))
        .unwrap();
    assert_eq!(e.line, Some(4));
    assert!(e.message.contains("syntax error"), "{e}");
    let e = errors
        .iter()
        .find(|e| e.file == dir.file("en/follow-up.txt"))
        .unwrap();
    assert_eq!(e.line, Some(1));
}

#[test]
fn header_other_than_subject_is_an_error_naming_the_line() {
    let dir = Dir::new(&[(
        "en/new-ticket.txt",
        b"Subject: x\nCc: boss@example.org\n\nbody\n",
    )]);
    let errors = Templates::load(&dir.0).err().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].file.clone(), errors[0].line),
        (dir.file("en/new-ticket.txt"), Some(2))
    );
    assert!(errors[0].message.contains("`Cc`"), "{}", errors[0]);
}

#[test]
fn non_utf8_and_misplaced_files_are_errors_naming_the_file() {
    let dir = Dir::new(&[
        ("de/signature.txt", b"Mit freundlichen Gr\xfc\xdfen\n"),
        ("en/thanks.txt", b"x"),
        ("new-ticket.txt", b"x"),
        ("en/README.md", b"ignored"),
    ]);
    let errors = Templates::load(&dir.0).err().unwrap();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    let e = errors
        .iter()
        .find(|e| e.file == dir.file("de/signature.txt"))
        .unwrap();
    assert!(e.message.contains("UTF-8"), "{e}");
    assert_eq!(e.line, Some(1));
    assert!(errors
        .iter()
        .any(|e| e.file == dir.file("en/thanks.txt") && e.message.contains("unknown template")));
    assert!(errors.iter().any(|e| e.file == dir.file("new-ticket.txt")));
    assert!(Templates::load(&dir.file("missing")).is_err());
}

#[test]
fn queue_override_wins_and_languages_fall_back() {
    let dir = Dir::new(&[
        ("en/signature.txt", b"Customer Service"),
        ("de/signature.txt", b"Kundenservice"),
        ("de/queues/Billing/signature.txt", b"Buchhaltung"),
        ("en/queues/Billing/signature.txt", b"Billing"),
        ("fr/salutation.txt", b"Bonjour"),
        ("en/responses/password-reset.txt", b"Reset it."),
        ("de/queues/Billing/responses/iban.txt", b"IBAN"),
    ]);
    let set = load(&dir);
    let ctx = Context::sample();
    let body = |name: &str, lang: &str, queue: &str| {
        set.render(name, lang, queue, &ctx).unwrap().map(|r| r.body)
    };
    assert_eq!(set.languages(), ["de", "en", "fr"]);
    assert_eq!(
        body("signature", "de", "Billing").as_deref(),
        Some("Buchhaltung")
    );
    assert_eq!(
        body("signature", "de", "Support").as_deref(),
        Some("Kundenservice")
    );
    // The customer's language beats the queue override in another language.
    assert_eq!(
        body("signature", "fr", "Billing").as_deref(),
        Some("Billing")
    );
    assert_eq!(
        body("signature", "it", "Support").as_deref(),
        Some("Customer Service")
    );
    // Only French has a salutation: any language falls back to it.
    assert_eq!(
        body("salutation", "de", "Support").as_deref(),
        Some("Bonjour")
    );
    assert_eq!(body("new-ticket", "de", "Support"), None);
    let response = |name: &str, lang: &str, queue: &str| {
        set.response(name, lang, queue, &ctx)
            .unwrap()
            .map(|r| (r.subject, r.body))
    };
    assert_eq!(
        response("password-reset", "de", "Billing"),
        Some((None, "Reset it.".into()))
    );
    assert_eq!(
        response("iban", "de", "Billing"),
        Some((None, "IBAN".into()))
    );
    assert_eq!(response("iban", "de", "Support"), None);
    assert_eq!(response("../signature", "en", "Support"), None);
}

#[test]
fn unset_optionals_print_nothing() {
    let dir = Dir::new(&[(
        "en/salutation.txt",
        b"Dear {{ customer.name or \"customer\" }}{{ reason }},",
    )]);
    let set = load(&dir);
    let r = set
        .render("salutation", "en", "Q", &Context::sample_sparse())
        .unwrap()
        .unwrap();
    assert_eq!(r.body, "Dear customer,");
}

#[test]
fn shipped_templates_load_and_check_clean() {
    let set = Templates::load(&shipped()).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(set.languages(), ["de", "en"]);
    let errors = set.check();
    assert!(errors.is_empty(), "{errors:#?}");
    for lang in ["de", "en"] {
        for name in source::WITH_SUBJECT.iter().chain(source::PARTS) {
            let path = shipped().join(lang).join(format!("{name}.txt"));
            assert!(path.exists(), "{} missing", path.display());
        }
        assert!(set
            .response("password-reset", lang, "Support", &Context::sample())
            .unwrap()
            .is_some());
    }
}

#[test]
fn shipped_acknowledgement_reads_well() {
    let set = Templates::load(&shipped()).unwrap();
    let ctx = Context::sample_sparse();
    for lang in ["en", "de"] {
        let r = set
            .render("new-ticket", lang, "Support", &ctx)
            .unwrap()
            .unwrap();
        assert_eq!(
            r.subject.as_deref(),
            Some("[Ticket#2016010110000019] Printer jams after the driver update")
        );
        assert!(r.body.contains("[Ticket#2016010110000019]"), "{}", r.body);
        assert!(!r.body.contains("\n\n\n"), "stray blank lines:\n{}", r.body);
        assert!(
            !r.body.contains("None") && !r.body.contains("{{"),
            "{}",
            r.body
        );
    }
    let sig = set
        .render("signature", "de", "Billing", &Context::sample())
        .unwrap()
        .unwrap();
    assert!(sig.body.contains("Jana Novak"), "{}", sig.body);
    let notify = set
        .render("agent-notify", "en", "Support", &Context::sample())
        .unwrap()
        .unwrap();
    assert!(
        notify.body.contains("> my debit card was blocked"),
        "{}",
        notify.body
    );
}

#[test]
fn shipped_request_answers_read_well() {
    let set = Templates::load(&shipped()).unwrap();
    let ctx = Context::sample();
    for lang in ["en", "de"] {
        for name in crate::requests::TEMPLATES {
            let r = set.render(name, lang, "Support", &ctx).unwrap().unwrap();
            assert!(r.subject.is_some(), "{lang}/{name}");
            assert!(!r.body.contains("\n\n\n"), "{lang}/{name}:\n{}", r.body);
            assert!(!r.body.contains("{{"), "{lang}/{name}:\n{}", r.body);
        }
        let list = set
            .render("request-tickets", lang, "Support", &ctx)
            .unwrap()
            .unwrap();
        assert!(
            list.body.contains("[Ticket#2015122310000027]  "),
            "{}",
            list.body
        );
        let history = set
            .render("request-history", lang, "Support", &ctx)
            .unwrap()
            .unwrap();
        assert!(
            history.body.contains("Please install version 2.1."),
            "{}",
            history.body
        );
    }
}
