//! A strict validator for the subset of JSON Schema (2020-12, and the draft-07 schemas
//! of the formats ClawSec emits, such as SARIF 2.1.0) that the tests use. It refuses any
//! keyword it does not implement, so a schema can never promise a constraint that the
//! tests do not actually enforce.

use regex::Regex;
use serde_json::Value;

const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "description",
    "$comment",
    "$defs",
    "definitions",
    "default",
    "examples",
    "meta:enum",
];
const KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "minimum",
    "maximum",
    "minLength",
    "pattern",
    "$ref",
    "anyOf",
    "oneOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "additionalItems",
    "maxLength",
    "format",
];

/// Validates `doc` against `schema`; returns every violation as `path: message`.
pub fn validate(schema: &Value, doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, doc, "$", &mut errors);
    errors
}

fn check(root: &Value, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        errs.push(format!("{at}: schema is not an object"));
        return;
    };
    for k in s.keys() {
        assert!(
            ANNOTATIONS.contains(&k.as_str()) || KEYWORDS.contains(&k.as_str()),
            "schema keyword {k:?} at {at} is not implemented by the test validator"
        );
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let target = r
            .strip_prefix('#')
            .and_then(|p| root.pointer(p))
            .unwrap_or_else(|| panic!("unresolvable $ref {r}"));
        check(root, target, v, at, errs);
    }
    for (kw, exactly_one) in [("anyOf", false), ("oneOf", true)] {
        if let Some(branches) = s.get(kw).and_then(Value::as_array) {
            let passing = branches
                .iter()
                .filter(|b| {
                    let mut e = Vec::new();
                    check(root, b, v, at, &mut e);
                    e.is_empty()
                })
                .count();
            if passing == 0 || (exactly_one && passing > 1) {
                errs.push(format!("{at}: {passing} of the {kw} branches match"));
            }
        }
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => panic!("bad type at {at}"),
        };
        if !types.iter().any(|t| is_type(v, t)) {
            errs.push(format!("{at}: expected {types:?}, got {v}"));
            return;
        }
    }
    if let Some(c) = s.get("const")
        && v != c
    {
        errs.push(format!("{at}: expected {c}, got {v}"));
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errs.push(format!("{at}: {v} is not one of {e:?}"));
    }
    if let Some(n) = v.as_i64() {
        if let Some(min) = s.get("minimum").and_then(Value::as_i64)
            && n < min
        {
            errs.push(format!("{at}: {n} < {min}"));
        }
        if let Some(max) = s.get("maximum").and_then(Value::as_i64)
            && n > max
        {
            errs.push(format!("{at}: {n} > {max}"));
        }
    }
    if let Some(text) = v.as_str() {
        if let Some(min) = s.get("minLength").and_then(Value::as_u64)
            && (text.chars().count() as u64) < min
        {
            errs.push(format!("{at}: shorter than {min}"));
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
            && (text.chars().count() as u64) > max
        {
            errs.push(format!("{at}: longer than {max}"));
        }
        if let Some(f) = s.get("format").and_then(Value::as_str)
            && !format_ok(f, text)
        {
            errs.push(format!("{at}: {text:?} is not a {f}"));
        }
        if let Some(p) = s.get("pattern").and_then(Value::as_str)
            && !Regex::new(p).unwrap().is_match(text)
        {
            errs.push(format!("{at}: {text:?} does not match {p}"));
        }
    }
    if let Some(obj) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(req) = s.get("required").and_then(Value::as_array) {
            for r in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    errs.push(format!("{at}: missing {r}"));
                }
            }
        }
        for (k, item) in obj {
            let path = format!("{at}.{k}");
            match props.and_then(|p| p.get(k)) {
                Some(sub) => check(root, sub, item, &path, errs),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => errs.push(format!("{path}: not allowed")),
                    Some(sub @ Value::Object(_)) => check(root, sub, item, &path, errs),
                    _ => {}
                },
            }
        }
    }
    if let Some(arr) = v.as_array() {
        if let Some(min) = s.get("minItems").and_then(Value::as_u64)
            && (arr.len() as u64) < min
        {
            errs.push(format!("{at}: fewer than {min} items"));
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
            && (arr.len() as u64) > max
        {
            errs.push(format!("{at}: more than {max} items"));
        }
        // `additionalItems` only constrains an array form of `items` (tuples); with
        // one schema for every item it has nothing to add.
        if s.contains_key("additionalItems") && s.get("items").is_some_and(Value::is_array) {
            panic!("tuple items at {at} are not implemented by the test validator");
        }
        if s.get("uniqueItems") == Some(&Value::Bool(true)) {
            for (i, a) in arr.iter().enumerate() {
                if arr[..i].contains(a) {
                    errs.push(format!("{at}[{i}]: a duplicate item"));
                }
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            check(root, items, item, &format!("{at}[{i}]"), errs);
        }
    }
}

/// The string formats the schemas in use name; any other is refused.
fn format_ok(format: &str, text: &str) -> bool {
    let re = match format {
        "date-time" => {
            r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"
        }
        "uri" => r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$",
        "uri-reference" | "iri-reference" => r"^[^\s]*$",
        "idn-email" => r"^[^@\s]+@[^@\s]+$",
        other => panic!("format {other} not implemented by the test validator"),
    };
    Regex::new(re).unwrap().is_match(text)
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        other => panic!("type {other} not implemented"),
    }
}
