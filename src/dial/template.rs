//! A PBX's request body: JSON the admin writes, with `{{extension}}`, `{{number}}`,
//! `{{agent}}` and `{{ticket}}` where the call's values go. The values are data: each is put in
//! JSON-escaped (as a JSON string's content, without its quotes), so a name with a quote or a
//! backslash can neither end the string nor add a key.

/// The placeholders a template may use.
pub const NAMES: [&str; 4] = ["extension", "number", "agent", "ticket"];

/// The call's values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub extension: String,
    pub number: String,
    pub agent: String,
    pub ticket: String,
}

impl Values {
    fn get(&self, name: &str) -> Option<&str> {
        match name {
            "extension" => Some(&self.extension),
            "number" => Some(&self.number),
            "agent" => Some(&self.agent),
            "ticket" => Some(&self.ticket),
            _ => None,
        }
    }
}

/// The body with the values put in; an unknown placeholder is an error naming it.
pub fn render(template: &str, v: &Values) -> Result<String, String> {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("a {{ without }}".into());
        };
        let name = after[..end].trim();
        let value = v.get(name).ok_or_else(|| {
            format!(
                "unknown placeholder {{{{{name}}}}}: use one of {}",
                NAMES.join(", ")
            )
        })?;
        out.push_str(&escape(value));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `s` as the inside of a JSON string.
fn escape(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// Whether the template gives JSON whatever the values are (checked with awkward ones).
pub fn check(template: &str) -> Result<(), String> {
    let awkward = Values {
        extension: "17\"}".into(),
        number: "+49\\541".into(),
        agent: "A \"B\"\n".into(),
        ticket: "2026120610000018".into(),
    };
    let body = render(template, &awkward)?;
    if template.trim().is_empty() {
        return Ok(());
    }
    serde_json::from_str::<serde_json::Value>(&body)
        .map(|_| ())
        .map_err(|e| format!("the body is not JSON once filled in: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_cannot_add_keys() {
        let t = r#"{"from": "{{extension}}", "to": "{{ number }}", "who": "{{agent}}"}"#;
        let v = Values {
            extension: "17".into(),
            number: "+4954112340".into(),
            agent: "Eve\", \"admin\": \"yes".into(),
            ticket: String::new(),
        };
        let body = render(t, &v).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["who"], "Eve\", \"admin\": \"yes");
        assert_eq!(parsed["to"], "+4954112340");
        assert!(parsed.get("admin").is_none());
        assert!(check(t).is_ok());
    }

    #[test]
    fn unknown_placeholders_and_non_json_are_refused() {
        assert!(render("{{caller}}", &Values::default())
            .unwrap_err()
            .contains("unknown placeholder {{caller}}"));
        assert!(check(r#"{"to": {{number}}}"#).is_err());
        assert!(check("{{number").is_err());
        assert!(check("").is_ok());
    }
}
