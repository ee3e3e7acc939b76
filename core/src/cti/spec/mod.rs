//! The GED-188 message catalogue as static tables generated from the data sheet.
//!
//! Everything in [`MESSAGES`], [`TAGS`] and [`TABLES`] comes from
//! `tools/gen_cti.py`; this module only defines the table types and lookups.

#[rustfmt::skip]
#[allow(clippy::all)]
mod generated;

pub use generated::{
    LIMITS, MESSAGES, MESSAGE_SLOTS, SPEC_PROTOCOL_VERSION, TABLES, TAGS, TAGS_REMOVED,
};

/// Oldest protocol version libcce speaks.
pub const MIN_PROTOCOL_VERSION: u32 = 15;
/// Newest protocol version libcce speaks (UCCE 15).
pub const MAX_PROTOCOL_VERSION: u32 = 25;
/// Most count groups a message has (checked by a test).
pub const MAX_COUNT_GROUPS: usize = 8;
/// First version with 2-byte floating tags and lengths.
pub const WIDE_FLOATING_SINCE: u32 = 20;

/// A wire data type from the data sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WireType {
    /// Unsigned byte.
    UChar,
    /// Signed byte.
    Char,
    /// Big-endian u16.
    UShort,
    /// Big-endian i16.
    Short,
    /// Big-endian u32.
    UInt,
    /// Big-endian i32.
    Int,
    /// 2-byte boolean (0 false, 1 true).
    Bool,
    /// Seconds since 1970 as a big-endian u32.
    Time,
    /// ASCII text, NUL terminated on the wire.
    String,
    /// Opaque bytes.
    Unspec,
    /// Named variable: NUL-terminated name and value.
    NamedVar,
    /// Named array element: index byte, NUL-terminated name and value.
    NamedArray,
}

impl WireType {
    /// Size in bytes of a fixed-size type, `None` for variable-length ones.
    pub const fn fixed_size(self) -> Option<usize> {
        match self {
            WireType::UChar | WireType::Char => Some(1),
            WireType::UShort | WireType::Short | WireType::Bool => Some(2),
            WireType::UInt | WireType::Int | WireType::Time => Some(4),
            _ => None,
        }
    }

    /// Name of the type as printed in the data sheet.
    pub const fn name(self) -> &'static str {
        match self {
            WireType::UChar => "UCHAR",
            WireType::Char => "CHAR",
            WireType::UShort => "USHORT",
            WireType::Short => "SHORT",
            WireType::UInt => "UINT",
            WireType::Int => "INT",
            WireType::Bool => "BOOL",
            WireType::Time => "TIME",
            WireType::String => "STRING",
            WireType::Unspec => "UNSPEC",
            WireType::NamedVar => "NAMEDVAR",
            WireType::NamedArray => "NAMEDARRAY",
        }
    }
}

/// Who sends a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to CTI Server (requests).
    ToServer,
    /// CTI Server to client (confirmations and events).
    ToClient,
    /// Either side.
    Both,
    /// Not known from the data sheet.
    Unknown,
}

/// One field of a message's fixed part.
#[derive(Debug, PartialEq, Eq)]
pub struct FixedField {
    /// Field name as in the data sheet.
    pub name: &'static str,
    /// Wire type (its size is the field size).
    pub ty: WireType,
    /// Indexes into [`TABLES`] naming the field's values.
    pub tables: &'static [u16],
    /// Index into the message's `count_groups` when this field counts a list.
    pub count_group: Option<u8>,
}

/// A fixed-part layout valid for a range of protocol versions.
#[derive(Debug, PartialEq, Eq)]
pub struct FixedLayout {
    /// First version using this layout.
    pub from: u32,
    /// Last version using this layout.
    pub to: u32,
    /// Fields in wire order.
    pub fields: &'static [FixedField],
}

impl FixedLayout {
    /// Total size of the fixed part in bytes (header excluded).
    pub fn size(&self) -> usize {
        fixed_size(self.fields)
    }
}

/// Total size in bytes of a list of fixed fields.
pub fn fixed_size(fields: &[FixedField]) -> usize {
    fields.iter().map(|f| f.ty.fixed_size().unwrap_or(0)).sum()
}

/// A different maximum size for a range of versions.
#[derive(Debug, PartialEq, Eq)]
pub struct MaxOverride {
    /// First version.
    pub from: u32,
    /// Last version.
    pub to: u32,
    /// Maximum data bytes in those versions.
    pub max: u16,
}

/// One floating field of a message.
#[derive(Debug, PartialEq, Eq)]
pub struct FloatField {
    /// Field name as in the data sheet.
    pub name: &'static str,
    /// Wire type of the data.
    pub ty: WireType,
    /// Maximum data bytes (a string's NUL included); `None` when unknown.
    pub max: Option<u16>,
    /// Version-specific maxima.
    pub max_overrides: &'static [MaxOverride],
    /// Tag value; `None` when the data sheet gives none (the field cannot be sent).
    pub tag: Option<u16>,
    /// Other tags a tolerant decoder accepts for this field.
    pub alt_tags: &'static [u16],
    /// Name of the field counting the repetitions, for list fields.
    pub repeat: Option<&'static str>,
    /// Marked "(optional)" in the data sheet.
    pub optional: bool,
    /// Marked "(required)" in the data sheet: an encoder refuses a message without it.
    pub required: bool,
    /// A list printed as "N * size" (DECISIONS.md #21): besides one floating field per
    /// element, a decoder accepts one field whose length is a multiple of the element
    /// size (`max` for STRING) and splits it into elements.
    pub packed: bool,
    /// ApplicationPathID (DECISIONS.md #20): printed INT 4, but a decoder also accepts
    /// the 5-byte APPPATHID type, kept as [`crate::cti::codec::Value::AppPathId`].
    pub app_path_id: bool,
    /// Indexes into [`TABLES`] naming the field's values.
    pub tables: &'static [u16],
}

impl FloatField {
    /// Maximum data length at `version`, if known.
    pub fn max_at(&self, version: u32) -> Option<u16> {
        self.max_overrides
            .iter()
            .find(|o| (o.from..=o.to).contains(&version))
            .map(|o| o.max)
            .or(self.max)
    }

    /// Whether `tag` identifies this field (main or alternative tag).
    pub fn matches_tag(&self, tag: u16) -> bool {
        self.tag == Some(tag) || self.alt_tags.contains(&tag)
    }
}

/// A message type of the catalogue.
#[derive(Debug, PartialEq, Eq)]
pub struct MessageSpec {
    /// Canonical name, e.g. `OPEN_REQ`.
    pub name: &'static str,
    /// MessageType number.
    pub msg_type: u32,
    /// Who sends it.
    pub direction: Direction,
    /// Service (chapter) it belongs to.
    pub service: &'static str,
    /// One-line purpose.
    pub summary: &'static str,
    /// Whether the data sheet gives its layout; undocumented ones decode raw.
    pub documented: bool,
    /// First protocol version that has this message.
    pub since: u32,
    /// Index into `floating` by tag value (255: not a tag of this message); main tags
    /// win over alternative ones.
    pub tag_slots: &'static [u8],
    /// The count fields of the message's lists and the fields each counts (at most
    /// [`MAX_COUNT_GROUPS`]).
    pub count_groups: &'static [CountGroup],
    /// Fixed-part layouts by version range.
    pub layouts: &'static [FixedLayout],
    /// Alternative fixed parts a tolerant decoder may try.
    pub alt_fixed: &'static [&'static [FixedField]],
    /// Floating fields in printed order.
    pub floating: &'static [FloatField],
}

impl MessageSpec {
    /// The fixed layout used at `version`, if the message exists there.
    pub fn layout(&self, version: u32) -> Option<&'static FixedLayout> {
        self.layouts
            .iter()
            .find(|l| (l.from..=l.to).contains(&version))
    }

    /// The floating field that `tag` identifies in this message (main tag first,
    /// then alternative tags).
    #[inline]
    pub fn float_by_tag(&self, tag: u16) -> Option<(usize, &'static FloatField)> {
        let idx = usize::from(*self.tag_slots.get(usize::from(tag))?);
        self.floating.get(idx).map(|f| (idx, f))
    }

    /// The floating field called `name`.
    pub fn float_by_name(&self, name: &str) -> Option<(usize, &'static FloatField)> {
        self.floating
            .iter()
            .enumerate()
            .find(|(_, f)| f.name == name)
    }
}

/// A count field and the repeated fields it counts.
#[derive(Debug, PartialEq, Eq)]
pub struct CountGroup {
    /// Name of the count field (in the fixed part, or floating for per-record counts).
    pub count: &'static str,
    /// Index into `floating` of the count field when it is a floating field.
    pub count_floating: Option<u16>,
    /// Indexes into `floating` of the fields it counts, in printed order.
    pub members: &'static [u16],
}

/// A tag of the Tag Values table.
#[derive(Debug, PartialEq, Eq)]
pub struct TagSpec {
    /// Tag name, e.g. `CLIENT_ID_TAG`.
    pub name: &'static str,
    /// Tag value.
    pub value: u16,
    /// First protocol version with this tag.
    pub since: u32,
}

/// Whether a constants table is an enumeration or a bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// One value at a time.
    Enum,
    /// A set of bits.
    Mask,
}

/// A named constant.
#[derive(Debug, PartialEq, Eq)]
pub struct ConstEntry {
    /// Constant name.
    pub name: &'static str,
    /// Numeric value.
    pub value: u32,
}

/// A constants table (enumeration or mask).
#[derive(Debug, PartialEq, Eq)]
pub struct ConstTable {
    /// Table name as in constants.json.
    pub name: &'static str,
    /// Enumeration or mask.
    pub kind: TableKind,
    /// Named values.
    pub entries: &'static [ConstEntry],
}

impl ConstTable {
    /// Name of `value` in this table.
    pub fn name_of(&self, value: u32) -> Option<&'static str> {
        self.entries
            .iter()
            .find(|e| e.value == value)
            .map(|e| e.name)
    }

    /// Value of the constant called `name`.
    pub fn value_of(&self, name: &str) -> Option<u32> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.value)
    }
}

/// Looks a message up by its type number.
#[inline]
pub fn message_by_type(msg_type: u32) -> Option<&'static MessageSpec> {
    let slot = MESSAGE_SLOTS.get(usize::try_from(msg_type).ok()?)?;
    MESSAGES.get(usize::from(*slot))
}

/// Looks a message up by name (canonical, or without a trailing `_MSG`).
pub fn message_by_name(name: &str) -> Option<&'static MessageSpec> {
    MESSAGES.iter().find(|m| m.name == name).or_else(|| {
        MESSAGES
            .iter()
            .find(|m| m.name.strip_suffix("_MSG") == Some(name))
    })
}

/// Looks a tag up by value.
pub fn tag_by_value(value: u16) -> Option<&'static TagSpec> {
    TAGS.binary_search_by_key(&value, |t| t.value)
        .ok()
        .map(|i| &TAGS[i])
}

/// Looks a constants table up by name.
pub fn table(name: &str) -> Option<&'static ConstTable> {
    TABLES.iter().find(|t| t.name == name)
}

/// Value of a constant from the named table, e.g. `constant("Status Codes", "E_CTI_INVALID_VERSION")`.
pub fn constant(table_name: &str, name: &str) -> Option<u32> {
    table(table_name).and_then(|t| t.value_of(name))
}

/// Renders `value` with the names of the given tables: the enum name, or the
/// `|`-joined mask bit names (unknown bits as hex). `None` when nothing is known.
pub fn describe(tables: &[u16], value: u32) -> Option<String> {
    let first = TABLES.get(usize::from(*tables.first()?))?;
    match first.kind {
        TableKind::Enum => tables
            .iter()
            .filter_map(|&i| TABLES.get(usize::from(i)))
            .find_map(|t| t.name_of(value))
            .map(str::to_owned),
        TableKind::Mask => {
            if value == 0 {
                return None;
            }
            let mut names = Vec::new();
            let mut rest = value;
            for e in first.entries {
                if e.value != 0 && value & e.value == e.value {
                    names.push(e.name.to_owned());
                    rest &= !e.value;
                }
            }
            if rest != 0 {
                names.push(format!("0x{rest:X}"));
            }
            Some(names.join("|"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_sorted_and_complete() {
        assert!(MESSAGES.windows(2).all(|w| w[0].msg_type < w[1].msg_type));
        assert_eq!(MESSAGES.len(), 244);
        assert!(TAGS.windows(2).all(|w| w[0].value < w[1].value));
        let open = message_by_name("OPEN_REQ").expect("OPEN_REQ");
        assert_eq!(open.msg_type, 3);
        assert_eq!(open.layout(25).map(FixedLayout::size), Some(44));
    }

    #[test]
    fn versioned_layouts_differ_where_the_sheet_says() {
        let conf = message_by_name("OPEN_CONF").expect("OPEN_CONF");
        // v15: 26-byte fixed part; v19-23 adds DepartmentID; v24 adds SessionType.
        assert_eq!(conf.layout(15).map(FixedLayout::size), Some(26));
        assert_eq!(conf.layout(20).map(FixedLayout::size), Some(30));
        assert_eq!(conf.layout(24).map(FixedLayout::size), Some(32));
        assert!(conf.layout(14).is_none());
    }

    #[test]
    fn tag_index_agrees_with_the_field_list() {
        for m in MESSAGES {
            for (i, f) in m.floating.iter().enumerate() {
                if let Some(t) = f.tag {
                    assert_eq!(
                        m.float_by_tag(t).map(|(j, _)| j),
                        Some(i),
                        "{}.{}",
                        m.name,
                        f.name
                    );
                }
                for &a in f.alt_tags {
                    let owner = m.float_by_tag(a).map(|(j, _)| j);
                    let main_elsewhere = m.floating.iter().any(|g| g.tag == Some(a));
                    assert!(
                        owner == Some(i) || main_elsewhere,
                        "{}.{} alt {a}",
                        m.name,
                        f.name
                    );
                }
            }
        }
    }

    #[test]
    fn message_slots_find_every_type() {
        for m in MESSAGES {
            assert_eq!(message_by_type(m.msg_type).map(|x| x.name), Some(m.name));
        }
        let known = MESSAGES.iter().filter(|m| m.msg_type < 400).count();
        assert_eq!((0..400).filter_map(message_by_type).count(), known);
        assert!(message_by_type(u32::MAX).is_none());
    }

    #[test]
    fn count_groups_agree_with_repeat() {
        for m in MESSAGES {
            for (i, f) in m.floating.iter().enumerate() {
                let group = m
                    .count_groups
                    .iter()
                    .find(|g| g.members.contains(&(i as u16)));
                assert_eq!(group.map(|g| g.count), f.repeat, "{}.{}", m.name, f.name);
            }
            assert!(m.count_groups.len() <= MAX_COUNT_GROUPS, "{}", m.name);
            let fixed = m
                .layouts
                .iter()
                .map(|l| l.fields)
                .chain(m.alt_fixed.iter().copied());
            for fields in fixed {
                for f in fields {
                    let group = m
                        .count_groups
                        .iter()
                        .position(|g| g.count == f.name && g.count_floating.is_none());
                    assert_eq!(
                        f.count_group.map(usize::from),
                        group,
                        "{}.{}",
                        m.name,
                        f.name
                    );
                }
            }
            for g in m.count_groups {
                assert_eq!(
                    g.count_floating.map(usize::from),
                    m.float_by_name(g.count).map(|(j, _)| j),
                    "{}.{}",
                    m.name,
                    g.count
                );
            }
        }
    }

    #[test]
    fn packed_lists_and_app_path_ids_are_the_decided_ones() {
        let mut packed: Vec<String> = MESSAGES
            .iter()
            .flat_map(|m| {
                m.floating
                    .iter()
                    .filter(|f| f.packed)
                    .map(move |f| format!("{}.{}", m.name, f.name))
            })
            .collect();
        packed.sort();
        assert_eq!(
            packed,
            [
                "AGENT_PRE_CALL_EVENT.FltEnabledServices",
                "CONFIG_AGENT_EVENT.FltAgentMRDID",
                "CONFIG_AGENT_EVENT.FltAgentMRDState",
                "CONFIG_AGENT_EVENT.FltSkillGroupNumber",
                "CONFIG_AGENT_EVENT.FltSkillGroupPriority",
                "CONFIG_AGENT_SERVICE_EVENT.FltEnabledServices",
                "CONFIG_SERVICE_EVENT.ServiceMember",
                "CONFIG_SERVICE_EVENT.ServicePriority",
                "CONFIG_TERMINAL_EVENT.Instrument",
                "SET_AGENT_SERVICE_DATA_REQ.FltEnabledServices",
                "SNAPSHOT_CALL_CONF.FltEnabledServices",
            ]
        );
        let app: Vec<String> = MESSAGES
            .iter()
            .flat_map(|m| {
                m.floating
                    .iter()
                    .filter(|f| f.app_path_id)
                    .map(move |f| format!("{}.{}", m.name, f.name))
            })
            .collect();
        assert_eq!(
            app,
            [
                "OPEN_REQ.ApplicationPathID",
                "SET_APP_DATA_REQ.ApplicationPathID"
            ]
        );
    }

    #[test]
    fn describe_names_enums_and_masks() {
        let open = message_by_name("OPEN_REQ").expect("OPEN_REQ");
        let services = &open.layout(25).expect("v25").fields[4];
        assert_eq!(services.name, "ServicesRequested");
        assert_eq!(
            describe(services.tables, 0x1).as_deref(),
            Some("CTI_SERVICE_CLIENT_EVENTS")
        );
        let status = table("Status Codes").expect("status table");
        assert_eq!(status.name_of(1), Some("E_CTI_INVALID_VERSION"));
    }
}
