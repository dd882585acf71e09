//! JSON Schemas of the proto3 JSON mapping of every `custody.v1` message
//! and enum, read from the descriptor set the build script compiled (so the
//! schema follows `event.proto` and can never drift from a hand copy).
//!
//! The mapping described is the one pbjson implements: field names in
//! lowerCamelCase, enums by name, `google.protobuf.Timestamp` as an RFC 3339
//! string, 64-bit integers as decimal strings (numbers are accepted too),
//! bytes as base64, and the members of a `oneof` as sibling fields of which
//! exactly one is present. Every field is optional in proto3; which ones an
//! event needs is [`crate::validate`]'s business and is said in the
//! descriptions of the HTTP API, not here.

use std::collections::BTreeMap;

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorSet};
use serde_json::{json, Map, Value};

/// The descriptor set `build.rs` wrote (`custody_descriptor.bin`).
const DESCRIPTOR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/custody_descriptor.bin"));

/// The package whose types are described.
const PACKAGE: &str = "custody.v1";

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("the embedded descriptor set does not decode: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("field `{field}` has type {type_id}, which the JSON mapping does not cover")]
    UnsupportedType { field: String, type_id: i32 },
}

/// One schema per message and enum of `custody.v1`, keyed by full name
/// (`custody.v1.Event`, `custody.v1.Role`...): full names, because short
/// ones (`Role`) collide with other schemas of an API description. A
/// reference to another type is `{"$ref": ref_prefix + full name}`, e.g.
/// `#/components/schemas/` for OpenAPI.
pub fn json_schemas(ref_prefix: &str) -> Result<BTreeMap<String, Value>, SchemaError> {
    let set = FileDescriptorSet::decode(DESCRIPTOR)?;
    let mut out = BTreeMap::new();
    for file in set.file.iter().filter(|f| f.package() == PACKAGE) {
        let comments = Comments::of(file);
        for (i, message) in file.message_type.iter().enumerate() {
            describe_message(
                message,
                &format!("{PACKAGE}.{}", message.name()),
                &[4, i as i32],
                &comments,
                ref_prefix,
                &mut out,
            )?;
        }
        for (i, en) in file.enum_type.iter().enumerate() {
            let name = format!("{PACKAGE}.{}", en.name());
            out.insert(name, enum_schema(en, comments.get(&[5, i as i32])));
        }
    }
    Ok(out)
}

/// Leading comments of a file's elements, by descriptor path.
struct Comments(BTreeMap<Vec<i32>, String>);

impl Comments {
    fn of(file: &prost_types::FileDescriptorProto) -> Self {
        let mut map = BTreeMap::new();
        for loc in file
            .source_code_info
            .iter()
            .flat_map(|info| info.location.iter())
        {
            let text = loc.leading_comments().trim();
            if !text.is_empty() {
                // Source comments are wrapped at 80 columns; a description
                // reads better as one paragraph.
                let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
                map.insert(loc.path.clone(), joined);
            }
        }
        Comments(map)
    }

    fn get(&self, path: &[i32]) -> Option<&str> {
        self.0.get(path).map(String::as_str)
    }
}

fn with_description(mut schema: Value, description: Option<&str>) -> Value {
    if let (Some(d), Some(obj)) = (description, schema.as_object_mut()) {
        obj.insert("description".into(), json!(d));
    }
    schema
}

fn enum_schema(en: &EnumDescriptorProto, description: Option<&str>) -> Value {
    let names: Vec<&str> = en.value.iter().map(|v| v.name()).collect();
    with_description(json!({"type": "string", "enum": names}), description)
}

fn describe_message(
    message: &DescriptorProto,
    full_name: &str,
    path: &[i32],
    comments: &Comments,
    ref_prefix: &str,
    out: &mut BTreeMap<String, Value>,
) -> Result<(), SchemaError> {
    // Nested types first: fields may refer to them.
    for (i, nested) in message.nested_type.iter().enumerate() {
        let mut p = path.to_vec();
        p.extend([3, i as i32]);
        describe_message(
            nested,
            &format!("{full_name}.{}", nested.name()),
            &p,
            comments,
            ref_prefix,
            out,
        )?;
    }
    for (i, en) in message.enum_type.iter().enumerate() {
        let mut p = path.to_vec();
        p.extend([4, i as i32]);
        out.insert(
            format!("{full_name}.{}", en.name()),
            enum_schema(en, comments.get(&p)),
        );
    }
    let mut properties = Map::new();
    // Real oneofs only: a proto3 `optional` field is a synthetic oneof of one.
    let mut oneofs: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for (i, field) in message.field.iter().enumerate() {
        let mut p = path.to_vec();
        p.extend([2, i as i32]);
        let json_name = field
            .json_name
            .clone()
            .unwrap_or_else(|| lower_camel(field.name()));
        let schema = field_schema(field, message, ref_prefix)?;
        properties.insert(
            json_name.clone(),
            with_description(schema, comments.get(&p)),
        );
        if let (Some(index), false) = (field.oneof_index, field.proto3_optional()) {
            oneofs.entry(index).or_default().push(json_name);
        }
    }
    let mut schema = json!({"type": "object", "properties": properties});
    if let Some(d) = comments.get(path) {
        schema["description"] = json!(d);
    }
    // A message with one oneof says "exactly one of" as `oneOf`; several
    // oneofs would need `allOf` of those, which no Custody message has.
    let groups: Vec<Value> = oneofs
        .into_values()
        .map(|members| {
            json!({"oneOf": members.iter().map(|m| json!({"required": [m]})).collect::<Vec<_>>()})
        })
        .collect();
    match groups.len() {
        0 => {}
        1 => {
            if let Some(one_of) = groups[0].get("oneOf") {
                schema["oneOf"] = one_of.clone();
            }
        }
        _ => schema["allOf"] = json!(groups),
    }
    out.insert(full_name.to_string(), schema);
    Ok(())
}

/// The schema of one field's value in the JSON mapping.
fn field_schema(
    field: &FieldDescriptorProto,
    parent: &DescriptorProto,
    ref_prefix: &str,
) -> Result<Value, SchemaError> {
    let type_name = field.type_name().trim_start_matches('.');
    let single = match field.r#type() {
        Type::Double | Type::Float => json!({"type": "number"}),
        Type::Int32 | Type::Sint32 | Type::Sfixed32 => {
            json!({"type": "integer", "minimum": i32::MIN, "maximum": i32::MAX})
        }
        Type::Uint32 | Type::Fixed32 => {
            json!({"type": "integer", "minimum": 0, "maximum": u32::MAX})
        }
        // pbjson writes 64-bit integers as strings and reads either form.
        Type::Int64 | Type::Sint64 | Type::Sfixed64 | Type::Uint64 | Type::Fixed64 => {
            json!({"oneOf": [{"type": "integer"}, {"type": "string", "pattern": "^-?[0-9]+$"}]})
        }
        Type::Bool => json!({"type": "boolean"}),
        Type::String => json!({"type": "string"}),
        Type::Bytes => json!({"type": "string", "contentEncoding": "base64"}),
        Type::Enum => json!({"$ref": format!("{ref_prefix}{type_name}")}),
        Type::Message if type_name == "google.protobuf.Timestamp" => {
            json!({"type": "string", "format": "date-time", "description": "RFC 3339, e.g. 2026-01-31T09:30:00Z"})
        }
        Type::Message => {
            // A map field is a repeated nested entry message marked map_entry.
            let entry = parent.nested_type.iter().find(|n| {
                type_name.ends_with(&format!(".{}", n.name()))
                    && n.options.as_ref().is_some_and(|o| o.map_entry())
            });
            if let Some(entry) = entry {
                let value = entry
                    .field
                    .iter()
                    .find(|f| f.number() == 2)
                    .map(|v| field_schema(v, entry, ref_prefix))
                    .transpose()?
                    .unwrap_or_else(|| json!({}));
                return Ok(json!({"type": "object", "additionalProperties": value}));
            }
            json!({"$ref": format!("{ref_prefix}{type_name}")})
        }
        Type::Group => {
            return Err(SchemaError::UnsupportedType {
                field: field.name().to_string(),
                type_id: field.r#type.unwrap_or_default(),
            })
        }
    };
    Ok(if field.label() == Label::Repeated {
        json!({"type": "array", "items": single})
    } else {
        single
    })
}

/// protoc's default JSON name, for descriptors that lack one.
fn lower_camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_the_event_in_its_json_mapping() {
        let schemas = json_schemas("#/").expect("schemas");
        let event = &schemas["custody.v1.Event"];
        let props = &event["properties"];
        assert_eq!(props["eventId"]["type"], "string");
        assert_eq!(props["occurredAt"]["format"], "date-time");
        assert_eq!(props["actor"]["$ref"], "#/custody.v1.Actor");
        assert_eq!(props["dataAccessed"]["$ref"], "#/custody.v1.DataAccessed");
        // The `kind` oneof: exactly one of its 13 members.
        assert_eq!(event["oneOf"].as_array().map(Vec::len), Some(13));
        let role = &schemas["custody.v1.Role"];
        assert!(role["enum"]
            .as_array()
            .is_some_and(|v| v.contains(&json!("ROLE_SUPPORT_ENGINEER"))));
        let accessed = &schemas["custody.v1.DataAccessed"]["properties"];
        assert_eq!(accessed["categories"]["type"], "array");
        assert_eq!(
            accessed["categories"]["items"]["$ref"],
            "#/custody.v1.DataCategory"
        );
        // Descriptions come from the .proto's comments.
        assert!(props["service"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("emitting service")));
        // Every reference resolves.
        let text = serde_json::to_string(&schemas).expect("json");
        for piece in text.split("\"$ref\":\"#/").skip(1) {
            let name = piece.split('"').next().unwrap_or_default();
            assert!(schemas.contains_key(name), "dangling $ref {name}");
        }
    }

    #[test]
    fn names_are_lower_camel() {
        assert_eq!(
            lower_camel("law_enforcement_request_received"),
            "lawEnforcementRequestReceived"
        );
        assert_eq!(lower_camel("id"), "id");
    }
}
