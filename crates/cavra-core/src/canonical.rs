//! Canonical JSON ([`crate::integrity`]) written straight from a [`Serialize`] value, without
//! building a `serde_json::Value` first: what sealing a record costs on every `POST /decisions`.
//!
//! The bytes are exactly `integrity::canonical_json(&serde_json::to_value(x)?)`: keys sorted as
//! strings at every level, a repeated key keeping its last value (as a `Map` insert does),
//! scalars written by serde_json's own serializer (an `f32` widened to `f64` first, as `to_value`
//! does). What `to_value` would treat specially or refuse — keys that are not strings, 128-bit
//! integers beyond 64 bits, serde_json's raw values — is an error here, and the caller takes the
//! `Value` path instead. Tests compare both paths on records and on arbitrary JSON.

use std::ops::Range;

use serde::ser::{self, Impossible, Serialize};
use serde_json::Error;

/// The entries of a top-level object in canonical order: each key with its value's canonical JSON.
pub struct Entries {
    buf: Vec<u8>,
    list: Vec<(Range<usize>, Range<usize>)>,
}

impl Entries {
    /// Each key (unescaped) with its value's canonical JSON, in canonical order, each key once.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.list.iter().filter_map(|(key, value)| {
            let key = std::str::from_utf8(self.buf.get(key.clone())?).ok()?;
            Some((key, self.buf.get(value.clone())?))
        })
    }
}

/// The canonical entries of `value`, which must serialise as an object (a struct or a map).
pub fn entries<T: Serialize + ?Sized>(value: &T) -> Result<Entries, Error> {
    value.serialize(TopLevel)
}

/// Appends the canonical JSON of `value` to `out`.
pub fn write<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), Error> {
    value.serialize(Canonical { out })
}

/// Appends one canonical entry, `"key":` and the value's canonical JSON already rendered.
pub fn write_entry(key: &str, value: &[u8], out: &mut Vec<u8>) {
    scalar(key, out);
    out.push(b':');
    out.extend_from_slice(value);
}

/// Appends the compact JSON of a string or scalar.
fn scalar<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing a string or a number into a `Vec` cannot fail: no I/O, no map keys to refuse.
    let _ = serde_json::to_writer(out, value);
}

fn unsupported(what: &str) -> Error {
    ser::Error::custom(format!(
        "canonical writer: {what} is left to the serde_json::Value path"
    ))
}

/// The names serde_json gives the structs it renders specially: its raw values, which
/// `to_value` re-parses, and (with its `arbitrary_precision` feature) its numbers.
const SPECIAL_STRUCTS: [&str; 2] = ["$serde_json::private::RawValue", "$serde_json::private::Number"];

/// An object being collected: raw keys and rendered values in one buffer, sorted at the end.
struct Object {
    buf: Vec<u8>,
    list: Vec<(Range<usize>, Range<usize>)>,
    key: Option<Range<usize>>,
}

impl Object {
    fn new(len: Option<usize>) -> Object {
        let len = len.unwrap_or(4);
        Object::with_capacity(len, 64 * len)
    }

    fn with_capacity(entries: usize, bytes: usize) -> Object {
        Object {
            buf: Vec::with_capacity(bytes),
            list: Vec::with_capacity(entries),
            key: None,
        }
    }

    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let start = self.buf.len();
        key.serialize(Key { out: &mut self.buf })?;
        self.key = Some(start..self.buf.len());
        Ok(())
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self.key.take().ok_or_else(|| unsupported("a value without a key"))?;
        let start = self.buf.len();
        value.serialize(Canonical { out: &mut self.buf })?;
        self.list.push((key, start..self.buf.len()));
        Ok(())
    }

    /// Sorted by key (stable, so equal keys stay in the order given), the last of equal keys kept.
    fn finish(mut self) -> Entries {
        let buf = &self.buf;
        let key = |r: &Range<usize>| buf.get(r.clone()).unwrap_or_default();
        self.list.sort_by(|a, b| key(&a.0).cmp(key(&b.0)));
        let mut list: Vec<(Range<usize>, Range<usize>)> = Vec::with_capacity(self.list.len());
        for entry in self.list {
            match list.last_mut() {
                Some(last) if key(&last.0) == key(&entry.0) => *last = entry,
                _ => list.push(entry),
            }
        }
        Entries { buf: self.buf, list }
    }

    fn write_to(self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (key, value)) in self.finish().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_entry(key, value, out);
        }
        out.push(b'}');
    }
}

/// Serialises any value as canonical JSON into `out`.
struct Canonical<'a> {
    out: &'a mut Vec<u8>,
}

/// An array being written.
struct Array<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    /// `Some(variant)`: a tuple variant, `{"variant":[...]}`.
    variant: Option<&'static str>,
}

impl Array<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Canonical { out: self.out })
    }

    fn close(self) {
        self.out.push(b']');
        if self.variant.is_some() {
            self.out.push(b'}');
        }
    }
}

/// A map or struct being collected into `out`.
struct ObjectInto<'a> {
    out: &'a mut Vec<u8>,
    object: Object,
    /// `Some(variant)`: a struct variant, `{"variant":{...}}`.
    variant: Option<&'static str>,
}

impl ObjectInto<'_> {
    fn close(self) {
        match self.variant {
            None => self.object.write_to(self.out),
            Some(variant) => {
                self.out.push(b'{');
                scalar(variant, self.out);
                self.out.push(b':');
                self.object.write_to(self.out);
                self.out.push(b'}');
            }
        }
    }
}

impl<'a> ser::Serializer for Canonical<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Array<'a>;
    type SerializeTuple = Array<'a>;
    type SerializeTupleStruct = Array<'a>;
    type SerializeTupleVariant = Array<'a>;
    type SerializeMap = ObjectInto<'a>;
    type SerializeStruct = ObjectInto<'a>;
    type SerializeStructVariant = ObjectInto<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        scalar(&v, self.out);
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        scalar(&v, self.out);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        // `to_value` keeps what fits 64 bits and refuses the rest.
        match (u64::try_from(v), i64::try_from(v)) {
            (Ok(v), _) => self.serialize_u64(v),
            (_, Ok(v)) => self.serialize_i64(v),
            _ => Err(unsupported("an integer beyond 64 bits")),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.serialize_u64(u64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        scalar(&v, self.out);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        match u64::try_from(v) {
            Ok(v) => self.serialize_u64(v),
            Err(_) => Err(unsupported("an integer beyond 64 bits")),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        // `to_value` widens an f32 to the f64 it equals, and writes that.
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        // Not finite: `to_value` makes it null, as the JSON writer does.
        scalar(&v, self.out);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        scalar(&v, self.out);
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        scalar(v, self.out);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        // An array of numbers, as `to_value` makes it.
        scalar(v, self.out);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        scalar(variant, self.out);
        self.out.push(b':');
        value.serialize(Canonical { out: self.out })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Array<'a>, Error> {
        self.out.push(b'[');
        Ok(Array {
            out: self.out,
            first: true,
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Array<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Array<'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Array<'a>, Error> {
        self.out.push(b'{');
        scalar(variant, self.out);
        self.out.extend_from_slice(b":[");
        Ok(Array {
            out: self.out,
            first: true,
            variant: Some(variant),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<ObjectInto<'a>, Error> {
        Ok(ObjectInto {
            out: self.out,
            object: Object::new(len),
            variant: None,
        })
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<ObjectInto<'a>, Error> {
        if SPECIAL_STRUCTS.contains(&name) {
            return Err(unsupported("a raw value or number"));
        }
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<ObjectInto<'a>, Error> {
        Ok(ObjectInto {
            out: self.out,
            object: Object::new(Some(len)),
            variant: Some(variant),
        })
    }
}

/// serde's four sequence traits, each an array here: element by element, then closed.
macro_rules! array_serializer {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for Array<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                self.close();
                Ok(())
            }
        }
    )*};
}

array_serializer!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for ObjectInto<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.object.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.object.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close();
        Ok(())
    }
}

/// serde's two struct traits, each an object here: field by field, then closed.
macro_rules! struct_serializer {
    ($($trait:ident),*) => {$(
        impl ser::$trait for ObjectInto<'_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
                self.object.key(key)?;
                self.object.value(value)
            }
            fn end(self) -> Result<(), Error> {
                self.close();
                Ok(())
            }
        }
    )*};
}

struct_serializer!(SerializeStruct, SerializeStructVariant);

/// The top level: an object, whose entries are kept apart instead of written.
struct TopLevel;

/// The top-level object being collected.
struct TopObject(Object);

impl ser::SerializeMap for TopObject {
    type Ok = Entries;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.0.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.0.value(value)
    }
    fn end(self) -> Result<Entries, Error> {
        Ok(self.0.finish())
    }
}

impl ser::SerializeStruct for TopObject {
    type Ok = Entries;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.0.key(key)?;
        self.0.value(value)
    }
    fn end(self) -> Result<Entries, Error> {
        Ok(self.0.finish())
    }
}

/// Refuses everything but a struct or a map.
macro_rules! not_an_object {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<Entries, Error> {
            Err(unsupported("a top level that is not an object"))
        })*
    };
}

impl ser::Serializer for TopLevel {
    type Ok = Entries;
    type Error = Error;
    type SerializeSeq = Impossible<Entries, Error>;
    type SerializeTuple = Impossible<Entries, Error>;
    type SerializeTupleStruct = Impossible<Entries, Error>;
    type SerializeTupleVariant = Impossible<Entries, Error>;
    type SerializeMap = TopObject;
    type SerializeStruct = TopObject;
    type SerializeStructVariant = Impossible<Entries, Error>;

    not_an_object!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Entries, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<Entries, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Entries, Error> {
        Err(unsupported("a top-level enum variant"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(unsupported("a top level that is not an object"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(unsupported("a top level that is not an object"))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(unsupported("a top level that is not an object"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(unsupported("a top level that is not an object"))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<TopObject, Error> {
        // A struct with a flattened map (a decision record) comes here without a length: room
        // for a record's ~30 entries and ~2 KiB, so the buffer is not regrown along the way.
        Ok(TopObject(Object::with_capacity(len.unwrap_or(32), 2048)))
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<TopObject, Error> {
        if SPECIAL_STRUCTS.contains(&name) {
            return Err(unsupported("a raw value or number"));
        }
        Ok(TopObject(Object::with_capacity(len, 64 * len)))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(unsupported("a top-level enum variant"))
    }
}

/// Writes a map key's text (unescaped) into the object's buffer; only strings are keys here.
struct Key<'a> {
    out: &'a mut Vec<u8>,
}

/// Refuses every key that is not a string.
macro_rules! not_a_string_key {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), Error> {
            Err(unsupported("a map key that is not a string"))
        })*
    };
}

impl ser::Serializer for Key<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.out.extend_from_slice(v.as_bytes());
        Ok(())
    }

    not_a_string_key!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(unsupported("a map key that is not a string"))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, _value: &T) -> Result<(), Error> {
        Err(unsupported("a map key that is not a string"))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(unsupported("a map key that is not a string"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(unsupported("a map key that is not a string"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(unsupported("a map key that is not a string"))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(unsupported("a map key that is not a string"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(unsupported("a map key that is not a string"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(unsupported("a map key that is not a string"))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, Error> {
        Err(unsupported("a map key that is not a string"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(unsupported("a map key that is not a string"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::arbitrary::{json_value, text};
    use crate::integrity::canonical_json;

    fn by_value<T: Serialize>(value: &T) -> String {
        canonical_json(&serde_json::to_value(value).unwrap())
    }

    fn direct<T: Serialize>(value: &T) -> String {
        let mut out = Vec::new();
        write(value, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn joined(entries: &Entries) -> String {
        let mut out = vec![b'{'];
        for (i, (key, value)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_entry(key, value, &mut out);
        }
        out.push(b'}');
        String::from_utf8(out).unwrap()
    }

    #[derive(serde::Serialize)]
    enum Shape {
        Unit,
        Newtype(f32),
        Tuple(u8, Option<String>),
        Struct { z: i128, a: Vec<u8> },
    }

    #[derive(serde::Serialize)]
    struct Nested {
        zeta: &'static str,
        alpha: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u32>,
        shapes: Vec<Shape>,
        #[serde(with = "serde_bytes_as_array")]
        bytes: Vec<u8>,
        map: BTreeMap<String, (bool, char)>,
        #[serde(flatten)]
        extra: serde_json::Map<String, Value>,
    }

    mod serde_bytes_as_array {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    /// Every kind of serde value (variants, bytes, f32, options, flattened maps, a flattened key
    /// repeating a field) gives the bytes `canonical_json(to_value(..))` gives.
    #[test]
    fn direct_writer_equals_the_value_path() {
        let mut extra = serde_json::Map::new();
        extra.insert(
            "zeta".into(),
            serde_json::json!({"b": [1.5, -0.0, 1e300], "a": "\u{1}\"\\"}),
        );
        extra.insert("b".into(), serde_json::json!(null));
        let value = Nested {
            zeta: "z\n",
            alpha: None,
            skipped: None,
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(0.1),
                Shape::Tuple(7, Some("é".into())),
                Shape::Struct {
                    z: -(1 << 62),
                    a: vec![1, 2],
                },
            ],
            bytes: vec![0, 255],
            map: [("y".to_owned(), (true, '\u{7}')), ("x".to_owned(), (false, 'é'))].into(),
            extra,
        };
        assert_eq!(direct(&value), by_value(&value));
        assert_eq!(joined(&entries(&value).unwrap()), by_value(&value));
    }

    /// A record, sealed or not, with unknown fields, gives the bytes of the `Value` path.
    #[test]
    fn records_equal_the_value_path() {
        let action: crate::Action = serde_json::from_str(
            r#"{"action_type": "mcp_tool_call", "target": "github.create_issue", "session_id": "s",
                "arguments": {"title": "x\u0000y", "n": 0.30000000000000004, "list": [{"b": 1, "a": 2}]}}"#,
        )
        .unwrap();
        let packs = crate::PackSet::builtin().unwrap();
        let pack = packs.get("cavra-ai-agent-baseline").unwrap();
        let stamp = crate::RecordStamp {
            decision_id: "dec_1".into(),
            timestamp: "2026-01-01T00:00:00.000000Z".into(),
            generated_correlation_id: "corr_1".into(),
        };
        let mut record = crate::DecisionRecord::new(&action, crate::evaluate(&action, &pack), pack.version(), stamp);
        record
            .extra
            .insert("!first".into(), serde_json::json!([{"z": 1, "y": {}}]));
        record.extra.insert(
            "target".into(),
            serde_json::json!("a repeated key keeps the last value"),
        );
        assert_eq!(direct(&record), by_value(&record));
        crate::integrity::seal(&mut record, Some("ab".repeat(32)));
        record.sequence = Some(9);
        assert_eq!(joined(&entries(&record).unwrap()), by_value(&record));
    }

    /// What `to_value` treats specially is refused, so callers take the `Value` path.
    #[test]
    fn what_to_value_treats_specially_is_refused() {
        assert!(entries(&[1, 2]).is_err());
        assert!(write(&u128::MAX, &mut Vec::new()).is_err());
        assert!(write(&BTreeMap::from([(1, 2)]), &mut Vec::new()).is_err());
    }

    proptest! {
        /// Any JSON value written directly gives the bytes of the `Value` path.
        #[test]
        fn any_json_equals_the_value_path(value in json_value(), pairs in prop::collection::vec((text(), any::<f32>()), 0..6)) {
            prop_assert_eq!(direct(&value), by_value(&value));
            let map: Vec<(String, f32)> = pairs;
            let as_map = SerializeAsMap(&map);
            prop_assert_eq!(direct(&as_map), by_value(&as_map));
            prop_assert_eq!(joined(&entries(&as_map).unwrap()), by_value(&as_map));
        }
    }

    /// Pairs serialised as a map in the order given, repeated keys included.
    struct SerializeAsMap<'a>(&'a [(String, f32)]);

    impl Serialize for SerializeAsMap<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in self.0 {
                map.serialize_entry(k, v)?;
            }
            map.end()
        }
    }
}
