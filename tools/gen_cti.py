#!/usr/bin/env python3
"""Generate the CTI (GED-188) message and constant tables from the data sheet.

Input:  ../shared/spec/cti/{messages,constants,versions}.json (override with --spec DIR)
Output: core/src/cti/spec/generated.rs (checked in)

    python3 tools/gen_cti.py           # rewrite the generated file
    python3 tools/gen_cti.py --check   # exit 1 if the checked-in file is stale

Nothing in the output is typed by hand: every layout, tag, version rule and
constant comes from the JSON files. The only hand-written knowledge here is
which constants table describes which field (FIELD_TABLE_RULES), because the
data sheet names the tables but does not always link them to fields.
"""
import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SPEC = os.path.join(ROOT, "..", "shared", "spec", "cti")
OUT = os.path.join(ROOT, "core", "src", "cti", "spec", "generated.rs")
TYPED_OUT = os.path.join(ROOT, "core", "src", "cti", "typed", "generated.rs")
REQUESTS_OUT = os.path.join(ROOT, "core", "src", "cti", "requests.rs")
NODE_REQUESTS_OUT = os.path.join(ROOT, "bindings", "node", "requests.d.ts")

RUST_KEYWORDS = {"type", "match", "ref", "mod", "use", "fn", "loop", "move", "self", "struct",
                 "enum", "trait", "impl", "where", "static", "const", "priority", "override"}

RUST_TYPES = {
    "UCHAR": "u8", "CHAR": "i8", "USHORT": "u16", "SHORT": "i16", "UINT": "u32", "INT": "i32",
    "BOOL": "bool", "TIME": "u32", "STRING": "CtiString", "UNSPEC": "Bytes",
    "NAMEDVAR": "NamedVar", "NAMEDARRAY": "NamedArray",
}


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = s.lower().replace("__", "_")
    return f"r#{s}" if s in RUST_KEYWORDS else s


def camel(name):
    parts = re.split(r"[^A-Za-z0-9]+", name)
    out = "".join(p[:1].upper() + p[1:].lower() if p.isupper() or p.islower() else p[:1].upper() + p[1:]
                  for p in parts if p)
    return out if not out[:1].isdigit() else "T" + out


def const_name(name):
    s = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()
    return s if s and not s[0].isdigit() else "V_" + s

MIN_VERSION = 15
MAX_VERSION = 25

WIRE = {
    "UCHAR": ("UChar", 1), "CHAR": ("Char", 1), "USHORT": ("UShort", 2), "SHORT": ("Short", 2),
    "UINT": ("UInt", 4), "INT": ("Int", 4), "BOOL": ("Bool", 2), "TIME": ("Time", 4),
    "STRING": ("String", None), "UNSPEC": ("Unspec", None), "NAMEDVAR": ("NamedVar", None),
    "NAMEDARRAY": ("NamedArray", None),
}

# Field name -> constants tables (first match wins for names; a field may use two tables,
# the second holding extended values). Exact "MESSAGE.Field" references in a table's
# used_by list take precedence over these rules.
FIELD_TABLE_RULES = [
    (r"^(Flt)?(Skill[Gg]roup|Next|Atc)?AgentState$|^(Flt)?SkillGroupState$|^NextAgentState$", ["AgentState Values"]),
    (r"^Status$", ["Status Codes"]),
    (r"^PGStatus$", ["PGStatusCode Values"]),
    (r"^SystemEventID$", ["SystemEventID Values"]),
    (r"^PeripheralType$", ["PeripheralType Values"]),
    (r"^LocalConnectionState$", ["LocalConnectionState Values"]),
    (r"^EventCause$", ["EventCause Values", "Extended Call Cleared Event Causes"]),
    (r"ConnectionDeviceIDType$", ["ConnectionDeviceIDType Values"]),
    (r"(DeviceType|DeviceIDType)$", ["DeviceIDType Values"]),
    (r"^CallType$", ["CallType Values"]),
    (r"^LineType$", ["LineType Values"]),
    (r"^FailureCode$", ["ControlFailureCode Values", "Extended Control Failure Codes"]),
    (r"^AllocationState$", ["AllocationState Values"]),
    (r"^ForwardType$", ["ForwardType Values"]),
    (r"^TypeOfDevice$", ["TypeOfDevice Values"]),
    (r"^ClassOfDevice$", ["ClassOfDevice Values"]),
    (r"^CallPlacementType$", ["CallPlacementType Values"]),
    (r"^CallMannerType$", ["CallMannerType Values"]),
    (r"^CallOption$", ["CallOption Values"]),
    (r"^ConsultType$", ["ConsultType Values"]),
    (r"^FacilityType$", ["FacilityType Values"]),
    (r"^AnsweringMachine$", ["AnsweringMachine Values"]),
    (r"^AnswerDetectMode$", ["AnswerDetectMode Values"]),
    (r"^AgentWorkMode$", ["AgentWorkMode Values"]),
    (r"^DestinationCountry$", ["DestinationCountry Values"]),
    (r"^AgentServiceReq$", ["Agent Service Request Masks"]),
    (r"^SilentMonitorStatus$", ["Silent Monitor Status Values"]),
    (r"^InternalAgentState$", ["Agent Internal States Message Values"]),
    (r"^TaskState$", ["TaskState Values"]),
    (r"^(Flt)?ServicesRequested$|^ServicesGranted$", ["CTI Service Masks"]),
    (r"^CallMsgMask$", ["Unsolicited Call Event Message Masks"]),
    (r"^AgentStateMask$", ["Agent State Masks"]),
    (r"^ConfigMsgMask$", ["ConfigMsgMask (Configuration Event Masks)"]),
    (r"^SessionType$", ["SessionType"]),
    (r"^MultilineAgentControl$", ["MultilineAgentControl"]),
    (r"^MaintenanceModeAccepted$", ["MaintenanceModeAccepted"]),
    (r"^MaintenanceModeStatus$", ["MaintenanceModeStatus"]),
]

# DECISIONS.md #21: lists printed as "N * size" may also arrive as one floating field
# holding every element. The data sheet marks them with a "list element" note; the
# decision also names CONFIG_TERMINAL_EVENT.Instrument, which has no such note.
PACKED_LISTS = {("CONFIG_TERMINAL_EVENT", "Instrument")}

# DECISIONS.md #20: fields with this tag are printed INT 4, but the data-type table
# defines a 5-byte APPPATHID type; decoders accept both lengths.
APP_PATH_ID_TAGS = {"APP_PATH_ID_TAG"}


def is_packed_list(msg, f):
    return bool(f["repeat"]) and ("list element" in (f.get("note") or "")
                                  or (msg["name"], f["name"]) in PACKED_LISTS)


def rust_str(s):
    return json.dumps(s if s is not None else "", ensure_ascii=True)


def parse_versions(text):
    """'15' -> (15, 15); '16-18' -> (16, 18); '<20' -> (15, 19); '>=20' -> (20, 25)."""
    text = str(text).strip()
    if text.startswith(">="):
        return int(text[2:]), MAX_VERSION
    if text.startswith("<"):
        return MIN_VERSION, int(text[1:]) - 1
    if "-" in text:
        a, b = text.split("-", 1)
        return int(a), int(b)
    return int(text), int(text)


class Gen:
    def __init__(self, spec_dir):
        self.messages = json.load(open(os.path.join(spec_dir, "messages.json")))
        self.constants = json.load(open(os.path.join(spec_dir, "constants.json")))
        self.versions = json.load(open(os.path.join(spec_dir, "versions.json")))
        self.tables = [t for t in self.constants["tables"] if t["kind"] in ("enum", "mask")]
        self.table_index = {t["name"]: i for i, t in enumerate(self.tables)}
        self.exact_refs = {}
        for t in self.tables:
            for ref in t.get("used_by") or []:
                if "." in ref:
                    self.exact_refs.setdefault(ref, []).append(t["name"])
        self.tag_table = next(t for t in self.constants["tables"] if t["kind"] == "tags")
        self.tag_since = {}
        for name, detail in self.versions.get("tags_added_detail", {}).items():
            fv = detail.get("first_version")
            if isinstance(fv, int):
                self.tag_since[detail["value"]] = fv
        self.msg_since = {}
        for name, ver in self.versions.get("messages_added", {}).items():
            self.msg_since[name] = ver
        self.size_overrides = self._size_overrides()

    def _size_overrides(self):
        """(message, field) -> list of (from, to, max) from versions.json field_size_changes."""
        out = {}
        names = {m["name"] for m in self.messages["messages"]}
        for change in self.versions.get("field_size_changes", []):
            size = change.get("size")
            if not isinstance(size, int):
                continue
            field = change["field"].split(" ")[0]
            try:
                lo, hi = parse_versions(change["versions"])
            except ValueError:
                continue
            for msg in re.split(r",\s*", change["message"]):
                if msg in names:
                    out.setdefault((msg, field), []).append((lo, hi, size))
        return out

    def field_tables(self, msg, field):
        exact = self.exact_refs.get(f"{msg}.{field}")
        if exact:
            return exact
        for pattern, tables in FIELD_TABLE_RULES:
            if re.search(pattern, field):
                return tables
        return []

    def table_refs(self, msg, field):
        idx = [self.table_index[t] for t in self.field_tables(msg, field) if t in self.table_index]
        return "&[" + ", ".join(str(i) for i in idx) + "]"

    def fixed_fields(self, msg, fields, groups=()):
        """`groups`: the message's count fields, in CountGroup order."""
        parts = []
        for f in fields:
            cg = "None" if f["name"] not in groups else f"Some({list(groups).index(f['name'])})"
            wire, size = WIRE[f["type"]]
            if size is not None and f["size"] != size:
                # Printed size differs from the type's size (alt layouts only); keep the printed size.
                wire = {1: "UChar", 2: "UShort", 4: "UInt"}[f["size"]]
            parts.append(
                f"FixedField {{ name: {rust_str(f['name'])}, ty: WireType::{wire}, "
                f"tables: {self.table_refs(msg, f['name'])}, count_group: {cg} }}"
            )
        return "&[" + ", ".join(parts) + "]"

    def since(self, m):
        for name in [m["name"]] + (m.get("aliases") or []):
            if name in self.msg_since:
                v = self.msg_since[name]
                return v if isinstance(v, int) else MAX_VERSION
        return MIN_VERSION

    def layouts(self, m):
        overrides = self.versions.get("fixed_layouts", {}).get(m["name"])
        since = self.since(m)
        if not overrides:
            return [(since, MAX_VERSION, m["fixed"])]
        resolved = {}
        out = []
        for entry in overrides:
            lo, hi = parse_versions(entry["versions"])
            if "fixed" in entry:
                fields = entry["fixed"]
            else:
                ref = entry["same_as"]
                fields = m["fixed"] if ref == f"v{MAX_VERSION}" else resolved[int(ref.lstrip("v"))]
            for v in range(lo, hi + 1):
                resolved[v] = fields
            out.append((lo, hi, fields))
        covered = set(resolved)
        missing = [v for v in range(since, MAX_VERSION + 1) if v not in covered]
        if missing:
            raise SystemExit(f"{m['name']}: versions {missing} have no fixed layout")
        return out

    def floating(self, m):
        parts = []
        tag_names = {e["name"]: e["value"] for e in self.tag_table["entries"]}
        for f in m["floating"]:
            wire, _ = WIRE[f["type"]]
            mx = "None" if f["max"] is None else f"Some({int(f['max'])})"
            tag = "None" if f["tag_value"] is None else f"Some({int(f['tag_value'])})"
            alt = "&[" + ", ".join(str(tag_names[a]) for a in f.get("alt_tags") or []) + "]"
            rep = "None" if not f["repeat"] else f"Some({rust_str(f['repeat'])})"
            ov = self.size_overrides.get((m["name"], f["name"]), [])
            ovs = "&[" + ", ".join(f"MaxOverride {{ from: {a}, to: {b}, max: {c} }}" for a, b, c in ov) + "]"
            parts.append(
                f"FloatField {{ name: {rust_str(f['name'])}, ty: WireType::{wire}, max: {mx}, max_overrides: {ovs}, "
                f"tag: {tag}, alt_tags: {alt}, repeat: {rep}, optional: {'true' if f['optional'] else 'false'}, "
                f"required: {'true' if '(required)' in (f.get('note') or '') else 'false'}, "
                f"packed: {'true' if is_packed_list(m, f) else 'false'}, "
                f"app_path_id: {'true' if f.get('tag') in APP_PATH_ID_TAGS else 'false'}, "
                f"tables: {self.table_refs(m['name'], f['name'])} }}"
            )
        return "&[\n        " + ",\n        ".join(parts) + ",\n    ]" if parts else "&[]"

    def tag_slots(self, m):
        """Dense tag -> floating index table (255: not this message's tag); main tags
        win over alternative ones."""
        tag_names = {e["name"]: e["value"] for e in self.tag_table["entries"]}
        index = {}
        for i, f in enumerate(m["floating"]):
            if f["tag_value"] is not None:
                index.setdefault(int(f["tag_value"]), i)
        for i, f in enumerate(m["floating"]):
            for a in f.get("alt_tags") or []:
                index.setdefault(tag_names[a], i)
        if not index:
            return "&[]"
        if len(m["floating"]) >= 255:
            raise SystemExit(f"{m['name']}: too many floating fields for u8 tag slots")
        slots = [255] * (max(index) + 1)
        for t, i in index.items():
            slots[t] = i
        return "&[" + ", ".join(str(x) for x in slots) + "]"

    def group_list(self, m):
        """(count field, member indexes), in order of each count's first repeated field."""
        fl = m["floating"]
        groups = []
        for f in fl:
            if f["repeat"] and f["repeat"] not in [g for g, _ in groups]:
                members = [j for j, g in enumerate(fl) if g["repeat"] == f["repeat"]]
                groups.append((f["repeat"], members))
        return groups

    def count_groups(self, m):
        """One CountGroup per count field, in order of its first repeated field."""
        fl = m["floating"]
        parts = []
        for count, members in self.group_list(m):
            ci = next((j for j, g in enumerate(fl) if g["name"] == count), None)
            cf = "None" if ci is None else f"Some({ci})"
            parts.append(
                f"CountGroup {{ count: {rust_str(count)}, count_floating: {cf}, "
                f"members: &[{', '.join(str(j) for j in members)}] }}"
            )
        return "&[" + ", ".join(parts) + "]"

    def direction(self, m):
        return {"to_server": "ToServer", "to_client": "ToClient", "both": "Both", None: "Unknown"}[m["direction"]]

    def render(self):
        out = []
        w = out.append
        w("// @generated by tools/gen_cti.py from the GED-188 data sheet. Do not edit by hand;")
        w("// run `python3 tools/gen_cti.py` (make gen) and commit the result.")
        w("")
        w("use super::*;")
        w("")
        w(f"/// Protocol version the layouts in this table were taken from.")
        w(f"pub const SPEC_PROTOCOL_VERSION: u32 = {self.messages['protocol_version']};")
        w("")
        # tags
        w("/// Every tag in the Tag Values table, sorted by value.")
        w("pub static TAGS: &[TagSpec] = &[")
        for e in sorted(self.tag_table["entries"], key=lambda e: e["value"]):
            since = self.tag_since.get(e["value"], MIN_VERSION)
            w(f"    TagSpec {{ name: {rust_str(e['name'])}, value: {e['value']}, since: {since} }},")
        w("];")
        w("")
        removed = self.versions.get("tags_removed_after_15", {})
        w("/// Tags removed from the protocol: (value, first version without it).")
        w("pub static TAGS_REMOVED: &[(u16, u32)] = &[")
        for name, d in sorted(removed.items(), key=lambda kv: kv[1]["value"]):
            w(f"    ({d['value']}, {d['removed_in']}), // {name}")
        w("];")
        w("")
        # constants tables
        w("/// Enumeration and mask tables from constants.json.")
        w("pub static TABLES: &[ConstTable] = &[")
        for t in self.tables:
            kind = "Mask" if t["kind"] == "mask" else "Enum"
            w(f"    ConstTable {{ name: {rust_str(t['name'])}, kind: TableKind::{kind}, entries: &[")
            for e in t["entries"]:
                v = int(e["value"])
                if v < 0 or v > 0xFFFFFFFF:
                    raise SystemExit(f"value out of range in {t['name']}: {v}")
                w(f"        ConstEntry {{ name: {rust_str(e['name'])}, value: {v} }},")
            w("    ] },")
        w("];")
        w("")
        # named limits
        limits = next((t for t in self.constants["tables"] if t["kind"] == "limits"), None)
        if limits:
            w("/// Special values and limits (the Special Values table).")
            w("pub static LIMITS: &[ConstEntry] = &[")
            for e in limits["entries"]:
                w(f"    ConstEntry {{ name: {rust_str(e['name'])}, value: {int(e['value'])} }},")
            w("];")
            w("")
        # messages
        w("/// Every message type, sorted by type number.")
        w("pub static MESSAGES: &[MessageSpec] = &[")
        for m in self.messages["messages"]:
            documented = m["layout"] == "documented"
            w("    MessageSpec {")
            w(f"        name: {rust_str(m['name'])},")
            w(f"        msg_type: {m['type']},")
            w(f"        direction: Direction::{self.direction(m)},")
            w(f"        service: {rust_str(m['service'])},")
            w(f"        summary: {rust_str(m['summary'])},")
            w(f"        documented: {'true' if documented else 'false'},")
            w(f"        since: {self.since(m)},")
            w(f"        tag_slots: {self.tag_slots(m)},")
            w(f"        count_groups: {self.count_groups(m)},")
            if documented:
                # Count fields read from the fixed part (a floating count is summed instead).
                floating_names = {f["name"] for f in m["floating"]}
                groups = [c if c not in floating_names else None for c, _ in self.group_list(m)]
                lay = ", ".join(
                    f"FixedLayout {{ from: {lo}, to: {hi}, fields: {self.fixed_fields(m['name'], f, groups)} }}"
                    for lo, hi, f in self.layouts(m)
                )
                w(f"        layouts: &[{lay}],")
                alts = ", ".join(self.fixed_fields(m["name"], a["fixed"], groups) for a in m.get("alt_fixed") or [])
                w(f"        alt_fixed: &[{alts}],")
                w(f"        floating: {self.floating(m)},")
            else:
                w("        layouts: &[],")
                w("        alt_fixed: &[],")
                w("        floating: &[],")
            w("    },")
        w("];")
        w("")
        by_type = {}
        for i, m in enumerate(self.messages["messages"]):
            by_type[m["type"]] = i
        if len(self.messages["messages"]) >= 65535:
            raise SystemExit("too many messages for u16 slots")
        slots = [65535] * (max(by_type) + 1)
        for t, i in by_type.items():
            slots[t] = i
        w("/// Index into [`MESSAGES`] by MessageType (65535: no such type).")
        w("pub static MESSAGE_SLOTS: &[u16] = &[" + ", ".join(str(x) for x in slots) + "];")
        w("")
        return "\n".join(out)


class TypedGen:
    """Typed structs per documented message and newtypes per constants table."""

    def __init__(self, gen):
        self.g = gen

    def table_type(self, idx):
        t = self.g.tables[idx]
        name = re.sub(r"\s*\(.*\)$", "", t["name"])
        name = re.sub(r"\s+Values$", "", name)
        return camel(name)

    def render_tables(self, w):
        for i, t in enumerate(self.g.tables):
            ty = self.table_type(i)
            kind = "bit mask" if t["kind"] == "mask" else "enumeration"
            w(f"/// `{t['name']}` ({kind}). Unknown values are kept; [`ConstValue::name`] names known ones.")
            w("#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]")
            w(f"pub struct {ty}(pub u32);")
            w("")
            w(f"impl {ty} {{")
            seen = set()
            for e in t["entries"]:
                c = const_name(e["name"])
                while c in seen:
                    c += "_"
                seen.add(c)
                w(f"    /// `{e['name']}`.")
                w(f"    pub const {c}: Self = Self({int(e['value'])});")
            w("}")
            w("")
            w(f"impl ConstValue for {ty} {{")
            w(f"    const TABLE: usize = {i};")
            w("    fn raw(self) -> u32 {")
            w("        self.0")
            w("    }")
            w("    fn from_raw(v: u32) -> Self {")
            w("        Self(v)")
            w("    }")
            w("}")
            w("")
            w(f"impl std::fmt::Debug for {ty} {{")
            w("    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {")
            w("        debug_const(*self, f)")
            w("    }")
            w("}")
            w("")

    def field_type(self, msg, f):
        tables = self.g.field_tables(msg, f["name"])
        idx = [self.g.table_index[t] for t in tables if t in self.g.table_index]
        base = RUST_TYPES[f["type"]]
        if idx and f["type"] in ("UCHAR", "USHORT", "UINT", "INT", "SHORT"):
            return self.table_type(idx[0]), True
        return base, False

    def render_message(self, m, w):
        name = m["name"]
        sname = camel(name.lower())
        layouts = self.g.layouts(m)
        all_fixed = []
        in_all = {}
        for lo, hi, fields in layouts:
            for f in fields:
                if f["name"] not in [x["name"] for x in all_fixed]:
                    all_fixed.append(f)
        for f in all_fixed:
            in_all[f["name"]] = all(any(x["name"] == f["name"] for x in fl) for _, _, fl in layouts)
        plain_counts = {f["repeat"] for f in m["floating"] if f["repeat"]}
        plain_counts -= {f["name"] for f in m["floating"] if f["repeat"]}
        w(f"/// {name} (type {m['type']}): {m['summary']}")
        w("#[derive(Debug, Clone, PartialEq, Default)]")
        w(f"pub struct {sname} {{")
        fixed_info = []
        for f in all_fixed:
            if f["name"] in plain_counts:
                continue
            ty, is_const = self.field_type(name, f)
            opt = not in_all[f["name"]]
            fixed_info.append((f, ty, is_const, opt))
            w(f"    /// `{f['name']}` ({f['type']}){'; absent in some protocol versions' if opt else ''}.")
            w(f"    pub {snake(f['name'])}: {'Option<' + ty + '>' if opt else ty},")
        float_info = []
        for f in m["floating"]:
            if f["name"] in plain_counts:
                continue
            ty, is_const = self.field_type(name, f)
            rep = f["repeat"] is not None
            float_info.append((f, ty, is_const, rep))
            w(f"    /// `{f['name']}` ({f['type']}, floating{', repeated per ' + f['repeat'] if rep else ''}).")
            w(f"    pub {snake(f['name'])}: {'Vec<' + ty + '>' if rep else 'Option<' + ty + '>'},")
        w("    /// Floating fields with tags the catalogue does not list for this message.")
        w("    pub unknown: Vec<(u16, Bytes)>,")
        w("}")
        w("")
        w(f"impl TypedMessage for {sname} {{")
        w(f"    const NAME: &'static str = {rust_str(name)};")
        w(f"    const TYPE: u32 = {m['type']};")
        w("")
        w("    fn from_message(m: &Message) -> Result<Self, CodecError> {")
        w("        check_name(m, Self::NAME)?;")
        w("        Ok(Self {")
        for f, ty, is_const, opt in fixed_info:
            conv = f"fixed(m, {rust_str(f['name'])})"
            if opt:
                w(f"            {snake(f['name'])}: opt_fixed(m, {rust_str(f['name'])})?,")
            else:
                w(f"            {snake(f['name'])}: {conv}?,")
        for f, ty, is_const, rep in float_info:
            fn = "many" if rep else "one"
            w(f"            {snake(f['name'])}: {fn}(m, {rust_str(f['name'])})?,")
        w("            unknown: unknown_fields(m),")
        w("        })")
        w("    }")
        w("")
        w("    fn to_message(&self, version: u32) -> Result<Message, CodecError> {")
        w("        let mut m = Message::new(Self::NAME, version)?;")
        for f, ty, is_const, opt in fixed_info:
            if opt:
                w(f"        set_opt_fixed(&mut m, {rust_str(f['name'])}, self.{snake(f['name'])})?;")
            else:
                w(f"        set_fixed(&mut m, {rust_str(f['name'])}, self.{snake(f['name'])})?;")
        for f, ty, is_const, rep in float_info:
            fn = "put_many" if rep else "put_one"
            w(f"        {fn}(&mut m, {rust_str(f['name'])}, &self.{snake(f['name'])})?;")
        w("        put_unknown(&mut m, &self.unknown)?;")
        w("        Ok(m)")
        w("    }")
        w("}")
        w("")
        return sname

    def render(self):
        out = []
        w = out.append
        w("// @generated by tools/gen_cti.py from the GED-188 data sheet. Do not edit by hand;")
        w("// run `python3 tools/gen_cti.py` (make gen) and commit the result.")
        w("")
        w("use super::*;")
        w("")
        self.render_tables(w)
        structs = []
        for m in self.g.messages["messages"]:
            if m["layout"] == "documented":
                structs.append((m, self.render_message(m, w)))
        w("/// Any message in typed form; undocumented and unknown ones stay dynamic.")
        w("#[derive(Debug, Clone, PartialEq)]")
        w("#[allow(clippy::large_enum_variant)]")
        w("pub enum Typed {")
        for m, sname in structs:
            w(f"    /// {m['name']}.")
            w(f"    {sname}({sname}),")
        w("    /// An undocumented message, in dynamic form.")
        w("    Other(Message),")
        w("}")
        w("")
        w("impl Typed {")
        w("    /// Converts a dynamic message to its typed form.")
        w("    pub fn from_message(m: &Message) -> Result<Self, CodecError> {")
        w("        Ok(match m.msg_type() {")
        for m, sname in structs:
            w(f"            {m['type']} => Typed::{sname}({sname}::from_message(m)?),")
        w("            _ => Typed::Other(m.clone()),")
        w("        })")
        w("    }")
        w("")
        w("    /// Converts back to the dynamic form for protocol `version`.")
        w("    pub fn to_message(&self, version: u32) -> Result<Message, CodecError> {")
        w("        match self {")
        for m, sname in structs:
            w(f"            Typed::{sname}(x) => x.to_message(version),")
        w("            Typed::Other(m) => Ok(m.clone()),")
        w("        }")
        w("    }")
        w("}")
        w("")
        return "\n".join(out)


class RequestsGen:
    """Request/confirmation pairs: the `Request` trait impls, one typed helper per
    request on `CtiConnection`, and the REQUESTS table the bindings use."""

    # Managed by the session itself, not by applications.
    SESSION = {"OPEN_REQ", "HEARTBEAT_REQ", "CLOSE_REQ"}

    def __init__(self, gen):
        self.g = gen

    def pairs(self):
        by_name = {m["name"]: m for m in self.g.messages["messages"]}
        out = []
        for m in self.g.messages["messages"]:
            n = m["name"]
            if (m["layout"] != "documented" or m["direction"] not in ("to_server", "both")
                    or not n.endswith("_REQ") or n in self.SESSION):
                continue
            conf = by_name.get(n[:-4] + "_CONF")
            if conf is None or conf["layout"] != "documented":
                continue
            out.append((m, conf))
        return out

    def render(self):
        out = []
        w = out.append
        w("// @generated by tools/gen_cti.py from ../shared/spec/cti/messages.json. Do not edit.")
        w("//! Every client request of the catalogue with its confirmation: typed helpers on")
        w("//! [`CtiConnection`] and the [`REQUESTS`] table the bindings expose.")
        w("")
        w("use super::connection::{CtiConnection, Request};")
        w("use super::session::RequestError;")
        w("use super::typed::*;")
        w("")
        w("/// A request of the catalogue and its confirmation.")
        w("#[derive(Debug, Clone, Copy, PartialEq, Eq)]")
        w("pub struct RequestInfo {")
        w("    /// Request message name, e.g. `MAKE_CALL_REQ`.")
        w("    pub request: &'static str,")
        w("    /// Confirmation message name, e.g. `MAKE_CALL_CONF`.")
        w("    pub confirmation: &'static str,")
        w("    /// Helper name in the bindings, e.g. `make_call`.")
        w("    pub helper: &'static str,")
        w("    /// Service group in the protocol guide.")
        w("    pub service: &'static str,")
        w("}")
        w("")
        pairs = self.pairs()
        w("/// Every request an application can send, in MessageType order.")
        w(f"pub const REQUESTS: [RequestInfo; {len(pairs)}] = [")
        for m, c in pairs:
            helper = m["name"][:-4].lower()
            w(f"    RequestInfo {{ request: {rust_str(m['name'])}, confirmation: {rust_str(c['name'])}, "
              f"helper: {rust_str(helper)}, service: {rust_str(m.get('service') or '')} }},")
        w("];")
        w("")
        w("/// Looks up a request by message name or helper name.")
        w("pub fn request_info(name: &str) -> Option<&'static RequestInfo> {")
        w("    REQUESTS.iter().find(|r| r.request == name || r.helper == name)")
        w("}")
        w("")
        for m, c in pairs:
            w(f"impl Request for {camel(m['name'].lower())} {{")
            w(f"    type Conf = {camel(c['name'].lower())};")
            w("}")
            w("")
        w("impl CtiConnection {")
        for m, c in pairs:
            helper = m["name"][:-4].lower()
            summary = (m.get("summary") or "").strip().rstrip(".")
            w(f"    /// {m['name']} → {c['name']}" + (f": {summary}." if summary else "."))
            w(f"    pub async fn {helper}(&self, req: &{camel(m['name'].lower())}) -> Result<{camel(c['name'].lower())}, RequestError> {{")
            w("        self.call(req).await")
            w("    }")
            w("")
        w("}")
        w("")
        return "\n".join(out)


def render_node_requests(gen):
    """TypeScript declarations of the Node helper methods (one per request)."""
    out = [
        "// @generated by tools/gen_cti.py from ../shared/spec/cti/messages.json. Do not edit.",
        "import type { CtiEvent, OutgoingFields, RequestOptions } from './index';",
        "",
        "/** One method per request of the catalogue; each resolves to the confirmation. */",
        "export interface RequestHelpers {",
    ]
    for m, c in RequestsGen(gen).pairs():
        helper = m["name"][:-4].lower()
        method = re.sub(r"_([a-z0-9])", lambda x: x.group(1).upper(), helper)
        out.append(f"  /** Sends {m['name']}; resolves to {c['name']}. */")
        out.append(f"  {method}(fields?: OutgoingFields, options?: RequestOptions): Promise<CtiEvent>;")
    out.append("}")
    out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=DEFAULT_SPEC)
    ap.add_argument("--check", action="store_true", help="fail if the generated file is stale")
    args = ap.parse_args()
    if not os.path.isdir(args.spec):
        msg = f"gen_cti: spec folder {args.spec} not found"
        if args.check:
            print(msg + "; drift check skipped")
            return 0
        raise SystemExit(msg)
    gen = Gen(args.spec)
    outputs = [
        (OUT, gen.render()),
        (TYPED_OUT, TypedGen(gen).render()),
        (REQUESTS_OUT, RequestsGen(gen).render()),
        (NODE_REQUESTS_OUT, render_node_requests(gen)),
    ]
    if args.check:
        stale = [p for p, text in outputs if (open(p).read() if os.path.exists(p) else "") != text]
        for p in stale:
            print(f"gen_cti: {os.path.relpath(p, ROOT)} is stale; run `python3 tools/gen_cti.py`", file=sys.stderr)
        if stale:
            return 1
        print("gen_cti: generated tables are up to date")
        return 0
    for path, text in outputs:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(text)
        print(f"gen_cti: wrote {os.path.relpath(path, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
