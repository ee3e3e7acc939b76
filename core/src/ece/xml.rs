//! A bounded, tolerant reader for the small XML answers of the chat web services:
//! root element name and attributes, and the text of its child elements, matched by
//! local name (namespace prefixes are generator-assigned, so they are ignored).
//!
//! No DTD is accepted (so no entity can be defined or expanded), only the predefined
//! entities and character references are resolved, and size, depth and element count
//! are bounded.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Limits applied to XML answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    /// Largest document (default 64 KiB).
    pub max_bytes: usize,
    /// Deepest element nesting (default 16).
    pub max_depth: usize,
    /// Most elements (default 1,000).
    pub max_elements: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits {
            max_bytes: 64 << 10,
            max_depth: 16,
            max_elements: 1000,
        }
    }
}

/// Why an XML document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Larger than the limit.
    #[error("XML larger than {0} bytes")]
    TooLarge(usize),
    /// Nested deeper than the limit.
    #[error("XML nested deeper than {0}")]
    TooDeep(usize),
    /// More elements than the limit.
    #[error("XML has more than {0} elements")]
    TooManyElements(usize),
    /// A DOCTYPE (refused: no entity definitions are processed).
    #[error("XML with a DOCTYPE is refused")]
    Doctype,
    /// Not well-formed.
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// Well-formed, but not the expected document.
    #[error("unexpected XML: {0}")]
    Unexpected(String),
}

/// A small XML document: the root and its direct children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleDoc {
    /// Local name of the root element.
    pub root: String,
    /// Root attributes as (local name, value).
    pub attrs: Vec<(String, String)>,
    /// Direct children as (local name, text content).
    pub children: Vec<(String, String)>,
}

impl SimpleDoc {
    /// Value of the root attribute `name` (case-insensitive local name).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Text of the first child `name` (case-insensitive local name).
    pub fn child(&self, name: &str) -> Option<&str> {
        self.children
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }
}

fn local(name: &str) -> String {
    match name.rfind(':') {
        Some(i) => name[i + 1..].to_owned(),
        None => name.to_owned(),
    }
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

fn attributes(e: &BytesStart<'_>) -> Result<Vec<(String, String)>, XmlError> {
    let mut out = Vec::new();
    // HTML-style attribute parsing accepts unquoted values (`responseType=0`, E17).
    for a in e.html_attributes() {
        let a = a.map_err(malformed)?;
        let key = a.key.as_ref();
        if key.starts_with("xmlns") {
            continue;
        }
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(malformed)?;
        out.push((local(key), v.into_owned()));
    }
    Ok(out)
}

fn resolve_ref(name: &str) -> Result<String, XmlError> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => num.parse(),
        }
        .map_err(|_| XmlError::Malformed(format!("bad character reference &{name};")))?;
        return char::from_u32(code)
            .filter(|c| *c != '\0')
            .map(String::from)
            .ok_or_else(|| XmlError::Malformed(format!("bad character reference &{name};")));
    }
    quick_xml::escape::resolve_predefined_entity(name)
        .map(str::to_owned)
        .ok_or_else(|| XmlError::Malformed(format!("unknown entity &{name};")))
}

/// Parses a document into its root and direct children.
pub fn parse_simple(xml: &[u8], limits: &XmlLimits) -> Result<SimpleDoc, XmlError> {
    if xml.len() > limits.max_bytes {
        return Err(XmlError::TooLarge(limits.max_bytes));
    }
    let text = std::str::from_utf8(xml).map_err(|_| XmlError::Malformed("not UTF-8".into()))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut doc = SimpleDoc::default();
    let mut depth = 0usize;
    let mut elements = 0usize;
    let mut root_done = false;
    // The child being read (depth 2): its name and text so far.
    let mut current: Option<(String, String)> = None;
    loop {
        let ev = reader.read_event().map_err(malformed)?;
        match ev {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(ev, Event::Empty(_));
                elements += 1;
                if depth + 1 > limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                if elements > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if depth == 0 {
                    if root_done {
                        return Err(XmlError::Malformed("more than one root element".into()));
                    }
                    doc.root = local(e.name().as_ref());
                    doc.attrs = attributes(e)?;
                } else if depth == 1 {
                    let name = local(e.name().as_ref());
                    if is_empty {
                        doc.children.push((name, String::new()));
                    } else {
                        current = Some((name, String::new()));
                    }
                }
                if is_empty {
                    if depth == 0 {
                        root_done = true;
                    }
                } else {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    if let Some(c) = current.take() {
                        doc.children.push(c);
                    }
                } else if depth == 0 {
                    root_done = true;
                }
            }
            Event::Text(t) => {
                let s: &str = &t;
                if depth == 0 && !s.trim().is_empty() {
                    return Err(XmlError::Malformed("text outside the root element".into()));
                }
                if let (2, Some((_, buf))) = (depth, current.as_mut()) {
                    buf.push_str(s);
                }
            }
            Event::CData(t) => {
                if let (2, Some((_, buf))) = (depth, current.as_mut()) {
                    buf.push_str(&t);
                }
            }
            Event::GeneralRef(r) => {
                let s = resolve_ref(&r)?;
                if let (2, Some((_, buf))) = (depth, current.as_mut()) {
                    buf.push_str(&s);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !root_done || depth != 0 {
        return Err(XmlError::Malformed("no complete root element".into()));
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_root_attrs_and_namespaced_children() {
        let d = parse_simple(
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sessionStatus xmlns:ns2="http://bindings.egain.com/chat" xmlns:ns3="jabber:client"><ns2:waitTime>3.0</ns2:waitTime><ns7:queueDepth> 1 </ns7:queueDepth></sessionStatus>"#,
            &XmlLimits::default(),
        )
        .unwrap();
        assert_eq!(d.root, "sessionStatus");
        assert!(d.attrs.is_empty());
        assert_eq!(d.child("waitTime"), Some("3.0"));
        assert_eq!(d.child("queueDepth"), Some("1"));
    }

    #[test]
    fn accepts_unquoted_attributes_and_entities() {
        let d = parse_simple(b"<checkEligibility responseType=0/>", &XmlLimits::default()).unwrap();
        assert_eq!(d.attr("responseType"), Some("0"));
        let d = parse_simple(b"<a><b>x &amp; &#65;&#x42;</b></a>", &XmlLimits::default()).unwrap();
        assert_eq!(d.child("b"), Some("x & AB"));
    }

    #[test]
    fn hostile_documents_are_typed_errors() {
        let l = XmlLimits {
            max_bytes: 200,
            max_depth: 3,
            max_elements: 5,
        };
        let billion = br#"<!DOCTYPE lolz [<!ENTITY lol "lol">]><a>&lol;</a>"#;
        assert_eq!(parse_simple(billion, &l), Err(XmlError::Doctype));
        assert!(matches!(
            parse_simple(b"<a>&lol;</a>", &l),
            Err(XmlError::Malformed(_))
        ));
        assert_eq!(parse_simple(&[b' '; 201], &l), Err(XmlError::TooLarge(200)));
        assert_eq!(
            parse_simple(b"<a><b><c><d/></c></b></a>", &l),
            Err(XmlError::TooDeep(3))
        );
        assert_eq!(
            parse_simple(b"<a><b/><b/><b/><b/><b/></a>", &l),
            Err(XmlError::TooManyElements(5))
        );
        for bad in [
            &b"<a>"[..],
            b"<a></b>",
            b"",
            b"text",
            b"<a/><b/>",
            b"\xff<a/>",
            b"<a>&#0;</a>",
        ] {
            assert!(
                parse_simple(bad, &l).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
