//! Tests for what `build` refuses or drops: bad addresses, Message-IDs and header names.

use super::*;

#[test]
fn bad_addresses_are_errors() {
    for bad in [
        "",
        "jane",
        "jane@",
        "@x.example",
        "a@b@c.example",
        "jane doe@x.example",
        "jane@x.example\r\nBcc: evil@x",
        "<jane@x.example>",
        "jane@x.example,evil@x",
        "jane@x.example>evil",
        "\"jane\"@x.example",
        "jürgen@x.example",
    ] {
        let mut o = outgoing();
        o.cc = vec![Address::new(bad)];
        assert!(
            matches!(
                build(&o),
                Err(ComposeError::InvalidAddress { field: "Cc", .. })
            ),
            "{bad:?}"
        );
        let o = Outgoing {
            from: Address::new(bad),
            ..outgoing()
        };
        assert!(build(&o).is_err(), "{bad:?}");
        let o = Outgoing {
            reply_to: Some(Address::new(bad)),
            ..outgoing()
        };
        assert!(build(&o).is_err(), "{bad:?}");
    }
    // Surrounding whitespace is trimmed, not an error.
    let mut o = outgoing();
    o.to = vec![Address::new(" jane@customer.example ")];
    assert!(build(&o).is_ok());
}

#[test]
fn message_ids() {
    let o = Outgoing {
        message_id: "<1.abc@company.example>".into(),
        ..outgoing()
    };
    assert_eq!(
        header(&build(&o).unwrap(), "Message-ID").unwrap(),
        "<1.abc@company.example>"
    );
    for bad in ["", "no-at", "a b@c", "a@b\r\nBcc: x@y", "<a@b>>"] {
        let o = Outgoing {
            message_id: bad.into(),
            ..outgoing()
        };
        assert!(
            matches!(build(&o), Err(ComposeError::InvalidMessageId(_))),
            "{bad:?}"
        );
    }
    // Customers' ids of a bad shape are dropped, not passed on and not an error.
    let mut o = outgoing();
    o.in_reply_to = Some("bad id\r\nBcc: x@y".into());
    o.references = vec!["ok@x".into(), "no at".into(), "x".repeat(1000) + "@y"];
    let raw = build(&o).unwrap();
    assert_eq!(count(&raw, "In-Reply-To"), 0);
    assert_eq!(header(&raw, "References").unwrap(), "<ok@x>");
    let mut o = outgoing();
    o.references = (0..200)
        .map(|i| format!("id{i}.{}@mail.example", "x".repeat(40)))
        .collect();
    let raw = build(&o).unwrap();
    assert_lines_ok(&raw);
    assert_eq!(parse(&raw).references().as_text_list().unwrap().len(), 200);
}

#[test]
fn extra_header_names() {
    for (name, reserved) in [
        ("X Bad", false),
        ("X-Bad:", false),
        ("", false),
        ("X_Under", false),
        ("Bcc", true),
        ("subject", true),
        ("Content-Type", true),
        ("X-Loop", true),
    ] {
        let o = Outgoing {
            extra: vec![(name.into(), "v".into())],
            ..outgoing()
        };
        let err = build(&o).unwrap_err();
        if reserved {
            assert_eq!(err, ComposeError::ReservedHeader(name.into()));
        } else {
            assert_eq!(err, ComposeError::InvalidHeaderName(name.into()));
        }
    }
    let o = Outgoing {
        language: Some("de; x".into()),
        ..outgoing()
    };
    assert!(matches!(build(&o), Err(ComposeError::InvalidLanguage(_))));
}
