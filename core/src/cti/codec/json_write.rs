//! JSON text written straight from a borrowed view into a reusable `String`.
//!
//! The output is byte-identical to `json::to_json(&decode(..)).to_string()` (keys,
//! `_name` companions, key order, number and escape formatting) without building a
//! [`Message`](super::Message) or a `serde_json` map. A message of an unusual shape
//! (see [`MessageRef::plain`]: `_order`, `_unknown`, `_warnings`, `_raw`, packed lists)
//! goes through the owned path instead.
//!
//! ```
//! use cce::cti::codec::{encode, json, json_write, Message, MessageRef, DecodeOptions};
//! let mut m = Message::new("AGENT_STATE_EVENT", 24)?;
//! m.set_int("AgentState", 3)?.set_str("AgentID", "1001")?;
//! let wire = encode(&m, 24)?;
//! let view = MessageRef::parse(30, &wire[8..], 24, DecodeOptions::default())?;
//! let mut out = String::new();
//! json_write::write_json(&view, &mut out);
//! assert_eq!(out, json::to_json_string(&m));
//! # Ok::<(), cce::cti::codec::CodecError>(())
//! ```

use std::fmt::Write as _;

use super::view::{read_u32, FieldRef, MessageRef};
use crate::cti::spec::{FloatField, TableKind, WireType, TABLES};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends the JSON object of `view` to `out` (nothing is cleared first).
pub fn write_json(view: &MessageRef<'_>, out: &mut String) {
    if !view.plain() {
        write_owned(view, out);
        return;
    }
    out.push_str("{\"MessageType\":");
    push_u64(out, u64::from(view.msg_type()));
    out.push_str(",\"MessageName\":");
    push_str_json(out, view.name());
    if !view.spec().documented {
        out.push_str(",\"_body\":\"");
        push_hex(out, view.body());
        out.push_str("\"}");
        return;
    }
    for (f, data) in view.fixed() {
        key(out, f.name, "");
        match f.ty.fixed_size().and_then(|_| read_u32(f.ty, data)) {
            Some(v) => {
                number(out, f.ty, v);
                name_of(out, f.name, f.tables, v);
            }
            None => {
                // A fixed field without a fixed size: its (empty) bytes as hex.
                out.push('"');
                push_hex(out, data);
                out.push('"');
            }
        }
    }
    let spec = view.spec();
    // Fields already shown (a single-valued field shows its first value; a list shows
    // all its values at its first occurrence) and lists whose `_name` array is out.
    let mut shown: u64 = 0;
    let mut named: u64 = 0;
    let mut it = view.field_iter();
    while let Some(first) = it.next() {
        let Some((idx, fs)) = first.field.and_then(|f| index_of(spec, f)) else {
            // Unknown tags make a view unusual; not reached.
            continue;
        };
        let bit = 1u64 << idx;
        if shown & bit != 0 {
            // A later element of a list shown already: its `_name` array comes where
            // the first element that has a name arrived.
            if fs.repeat.is_some() && named & bit == 0 && has_name(fs, &first) {
                names_array(out, fs, view);
                named |= bit;
            }
            continue;
        }
        shown |= bit;
        if fs.repeat.is_none() {
            key(out, fs.name, "");
            value(out, fs, &first);
            if let Some(v) = first.u32() {
                name_of(out, fs.name, fs.tables, v);
            }
            continue;
        }
        // A list: every element (in wire order), as one array at its first occurrence.
        key(out, fs.name, "");
        out.push('[');
        value(out, fs, &first);
        for n in it.clone().filter(|n| same(n, fs)) {
            out.push(',');
            value(out, fs, &n);
        }
        out.push(']');
        if has_name(fs, &first) {
            names_array(out, fs, view);
            named |= bit;
        }
    }
    if let Some(order) = wire_order(view) {
        out.push_str(",\"_order\":[");
        for (i, name) in order.enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_str_json(out, name);
        }
        out.push(']');
    }
    out.push('}');
}

/// The catalogue index of `f` in `spec`, below 64 (the widest message has 64 fields).
fn index_of(
    spec: &'static crate::cti::spec::MessageSpec,
    f: &'static FloatField,
) -> Option<(usize, &'static FloatField)> {
    let base = spec.floating.as_ptr() as usize;
    let at =
        (f as *const FloatField as usize).checked_sub(base)? / std::mem::size_of::<FloatField>();
    (at < 64 && std::ptr::eq(spec.floating.get(at)?, f)).then_some((at, f))
}

/// Whether the element has a `_name` (its value is described by the field's tables).
fn has_name(fs: &FloatField, el: &FieldRef<'_>) -> bool {
    if fs.tables.is_empty() {
        return false;
    }
    let Some(v) = el.u32() else { return false };
    let Some(first) = fs.tables.first().and_then(|&i| TABLES.get(usize::from(i))) else {
        return false;
    };
    match first.kind {
        TableKind::Enum => fs
            .tables
            .iter()
            .filter_map(|&i| TABLES.get(usize::from(i)))
            .any(|t| t.name_of(v).is_some()),
        TableKind::Mask => v != 0,
    }
}

/// `,"<field>_name":[...]`: the names of every element of the list that has one.
fn names_array(out: &mut String, fs: &'static FloatField, view: &MessageRef<'_>) {
    key(out, fs.name, "_name");
    out.push('[');
    let open = out.len();
    for el in view.field_iter().filter(|n| same(n, fs)) {
        let Some(v) = el.u32() else { continue };
        let at = out.len();
        if at > open {
            out.push(',');
        }
        out.push('"');
        if describe_into(out, fs.tables, v) {
            out.push('"');
        } else {
            out.truncate(at);
        }
    }
    out.push(']');
}

/// The field names in wire order as `_order` lists them (a single-valued field once,
/// where it first came), or `None` when that is the data sheet's order.
fn wire_order<'a>(view: &MessageRef<'a>) -> Option<impl Iterator<Item = &'static str> + 'a> {
    let spec = view.spec();
    let keys = move || {
        let mut seen: u64 = 0;
        view.field_iter().filter_map(move |f| {
            let (idx, fs) = f.field.and_then(|x| index_of(spec, x))?;
            if fs.repeat.is_none() {
                let bit = 1u64 << idx;
                if seen & bit != 0 {
                    return None;
                }
                seen |= bit;
            }
            Some((idx, fs.name))
        })
    };
    let mut last = 0;
    let canonical = keys().all(|(idx, _)| {
        let ok = idx >= last;
        last = idx;
        ok
    });
    (!canonical).then(|| keys().map(|(_, name)| name))
}

/// Whether `n` is another occurrence of `fs`.
fn same(n: &FieldRef<'_>, fs: &'static FloatField) -> bool {
    n.field.is_some_and(|f| std::ptr::eq(f, fs))
}

/// The owned path: decode the view's bytes and render them with `json::to_json`.
#[cold]
fn write_owned(view: &MessageRef<'_>, out: &mut String) {
    match view.to_owned_message() {
        Ok(m) => {
            // Writing to a String cannot fail.
            let _ = write!(out, "{}", super::json::to_json(&m));
        }
        Err(_) => {
            // Not reached: the view validated at least as strictly as the tolerant decode.
            out.push_str("{\"MessageType\":");
            push_u64(out, u64::from(view.msg_type()));
            out.push_str(",\"MessageName\":");
            push_str_json(out, view.name());
            out.push('}');
        }
    }
}

/// `,"<name><suffix>":`
fn key(out: &mut String, name: &str, suffix: &str) {
    out.push(',');
    out.push('"');
    push_escaped(out, name);
    out.push_str(suffix);
    out.push_str("\":");
}

/// `,"<name>_name":"<description>"` when the tables describe `v`.
fn name_of(out: &mut String, name: &str, tables: &[u16], v: u32) {
    if tables.is_empty() {
        return;
    }
    let mark = out.len();
    key(out, name, "_name");
    out.push('"');
    if describe_into(out, tables, v) {
        out.push('"');
    } else {
        out.truncate(mark);
    }
}

/// A number of wire type `ty` from its bit pattern, as `json::to_json` prints it.
fn number(out: &mut String, ty: WireType, v: u32) {
    match ty {
        WireType::Char => push_i64(out, i64::from(v as i8)),
        WireType::Short => push_i64(out, i64::from(v as i16)),
        WireType::Int => push_i64(out, i64::from(v as i32)),
        WireType::Bool if v <= 1 => out.push_str(if v == 1 { "true" } else { "false" }),
        _ => push_u64(out, u64::from(v)),
    }
}

/// A floating field's value (one element).
fn value(out: &mut String, fs: &FloatField, f: &FieldRef<'_>) {
    match fs.ty {
        WireType::String => push_str_json(out, f.str().unwrap_or("")),
        WireType::Unspec => {
            out.push('"');
            push_hex(out, f.data);
            out.push('"');
        }
        WireType::NamedVar => {
            let (n, v) = f.named_var().unwrap_or(("", ""));
            out.push_str("{\"Name\":");
            push_str_json(out, n);
            out.push_str(",\"Value\":");
            push_str_json(out, v);
            out.push('}');
        }
        WireType::NamedArray => {
            let (i, n, v) = f.named_array().unwrap_or((0, "", ""));
            out.push_str("{\"Index\":");
            push_u64(out, u64::from(i));
            out.push_str(",\"Name\":");
            push_str_json(out, n);
            out.push_str(",\"Value\":");
            push_str_json(out, v);
            out.push('}');
        }
        ty => match f.u32() {
            Some(v) => number(out, ty, v),
            None => {
                // The 5-byte APPPATHID form of ApplicationPathID: hex.
                out.push('"');
                push_hex(out, f.data);
                out.push('"');
            }
        },
    }
}

/// Appends what `spec::describe(tables, v)` returns; false (and nothing appended
/// that matters: the caller truncates) when it returns `None`.
fn describe_into(out: &mut String, tables: &[u16], v: u32) -> bool {
    let Some(first) = tables.first().and_then(|&i| TABLES.get(usize::from(i))) else {
        return false;
    };
    match first.kind {
        TableKind::Enum => {
            let name = tables
                .iter()
                .filter_map(|&i| TABLES.get(usize::from(i)))
                .find_map(|t| t.name_of(v));
            match name {
                Some(n) => {
                    push_escaped(out, n);
                    true
                }
                None => false,
            }
        }
        TableKind::Mask => {
            if v == 0 {
                return false;
            }
            let mut rest = v;
            let mut sep = false;
            for e in first.entries {
                if e.value != 0 && v & e.value == e.value {
                    if sep {
                        out.push('|');
                    }
                    push_escaped(out, e.name);
                    sep = true;
                    rest &= !e.value;
                }
            }
            if rest != 0 {
                if sep {
                    out.push('|');
                }
                let _ = write!(out, "0x{rest:X}");
            }
            true
        }
    }
}

fn push_u64(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

fn push_i64(out: &mut String, v: i64) {
    out.push_str(itoa::Buffer::new().format(v));
}

fn push_hex(out: &mut String, b: &[u8]) {
    out.reserve(b.len() * 2);
    for &x in b {
        out.push(char::from(HEX[usize::from(x >> 4)]));
        out.push(char::from(HEX[usize::from(x & 15)]));
    }
}

/// `"<text>"` with serde_json's escaping.
fn push_str_json(out: &mut String, s: &str) {
    out.push('"');
    push_escaped(out, s);
    out.push('"');
}

/// serde_json's string escaping: `"` `\` and control characters (short forms for
/// \b \f \n \r \t, `\u00xx` otherwise); everything else as is.
fn push_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cti::spec::MESSAGES;

    /// The writer emits each key once in order; that holds when no two fields of a
    /// layout and the floating list share a name (or a `_name` twin).
    #[test]
    fn catalogue_names_are_unique_per_message() {
        for spec in MESSAGES {
            let layouts = spec
                .layouts
                .iter()
                .map(|l| l.fields)
                .chain(spec.alt_fixed.iter().copied());
            for layout in layouts {
                let mut names: Vec<String> = Vec::new();
                for n in layout
                    .iter()
                    .map(|f| f.name)
                    .chain(spec.floating.iter().map(|f| f.name))
                {
                    names.push(n.to_owned());
                    names.push(format!("{n}_name"));
                }
                let all = names.len();
                names.sort();
                names.dedup();
                assert_eq!(names.len(), all, "{}", spec.name);
            }
        }
    }

    /// A list split by another field, whose first element has no `_name` and a later
    /// one has: `to_json` puts the array at the first element and `_name` where the
    /// first named element came, then `_order`.
    #[test]
    fn split_lists_and_late_names_match_the_owned_rendering() {
        use crate::cti::codec::{encode, json, DecodeOptions, Message, Value};
        let mut m = Message::new("AGENT_STATE_EVENT", 24).expect("msg");
        m.set_str("AgentID", "1001").expect("id");
        for (field, v) in [
            ("FltSkillGroupState", Value::UShort(9999)),
            ("FltSkillGroupNumber", Value::Int(1)),
            ("FltSkillGroupState", Value::UShort(3)),
            ("FltSkillGroupNumber", Value::Int(2)),
        ] {
            m.push_floating(field, v).expect(field);
        }
        m.update_counts().expect("counts");
        let wire = encode(&m, 24).expect("encode");
        let view = MessageRef::parse(30, &wire[8..], 24, DecodeOptions::default()).expect("view");
        let mut out = String::new();
        write_json(&view, &mut out);
        let owned = json::to_json_string(&m);
        assert!(owned.contains("_order"), "{owned}");
        let at = |k: &str| owned.find(k).unwrap_or(usize::MAX);
        assert!(
            at("\"FltSkillGroupNumber\"") < at("\"FltSkillGroupState_name\""),
            "{owned}"
        );
        assert_eq!(out, owned);
    }

    #[test]
    fn escaping_matches_serde_json() {
        let s: String = (0u8..0x80).map(char::from).collect();
        let mut out = String::new();
        push_str_json(&mut out, &s);
        assert_eq!(out, serde_json::Value::from(s.as_str()).to_string());
    }
}
