//! A short text from the directory (a service's greeting) rendered once with values: the text
//! is the admin's template, the values (a caller's name) are data and never template code. An
//! unknown placeholder renders empty, since a greeting must be said even for an unknown caller.

use minijinja::{Environment, UndefinedBehavior, Value};

/// Renders `source` with `values`; an error names what is wrong in the text.
pub fn render_text(source: &str, values: &serde_json::Value) -> Result<String, String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(super::FUEL));
    let t = env.template_from_str(source).map_err(|e| e.to_string())?;
    t.render(Value::from_serialize(values))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_data_and_missing_ones_render_empty() {
        let v = serde_json::json!({"person": {"last_name": "{{ 7*7 }}"}, "service": {"name": "Online"}});
        assert_eq!(
            render_text(
                "Frau {{ person.last_name }}, {{ service.name }}-Service",
                &v
            )
            .unwrap(),
            "Frau {{ 7*7 }}, Online-Service"
        );
        assert_eq!(
            render_text("Guten Tag{{ organisation.name }}.", &v).unwrap(),
            "Guten Tag."
        );
        assert!(render_text("{% for %}", &v).is_err());
        assert!(render_text("{% for i in range(100000) %}{% endfor %}", &v).is_err());
    }
}
