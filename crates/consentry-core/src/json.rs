//! Reading JSON without depending on one JSON library: the [`JsonValue`]
//! trait, and [`Obj`], an object checked against the fields it may have,
//! whose getters put the JSON path in every error. The policy reader
//! ([`crate::policy`]), the texts reader ([`crate::texts`]) and the ready
//! policy's reader ([`crate::ready`]) are written over it.

use crate::prelude::*;

use crate::error::{PolicyError, Problem};

/// A JSON value as the policy reader needs to see it: implemented for
/// `&serde_json::Value` (arrays and objects are handed out as references
/// into the document, never copied), and for any other JSON library a
/// caller wants to read policies from.
pub trait JsonValue: Sized {
    /// `null`.
    fn is_null(&self) -> bool;
    /// A string's content.
    fn as_string(&self) -> Option<String>;
    /// A boolean.
    fn as_bool(&self) -> Option<bool>;
    /// A number.
    fn as_f64(&self) -> Option<f64>;
    /// An array's items.
    fn as_array(&self) -> Option<Vec<Self>>;
    /// An object's members, in document order.
    fn as_object(&self) -> Option<Vec<(String, Self)>>;
}

impl JsonValue for &serde_json::Value {
    fn is_null(&self) -> bool {
        serde_json::Value::is_null(self)
    }
    fn as_string(&self) -> Option<String> {
        serde_json::Value::as_str(self).map(str::to_owned)
    }
    fn as_bool(&self) -> Option<bool> {
        serde_json::Value::as_bool(self)
    }
    fn as_f64(&self) -> Option<f64> {
        serde_json::Value::as_f64(self)
    }
    fn as_array(&self) -> Option<Vec<Self>> {
        serde_json::Value::as_array(self).map(|items| items.iter().collect())
    }
    fn as_object(&self) -> Option<Vec<(String, Self)>> {
        serde_json::Value::as_object(self).map(|m| m.iter().map(|(k, v)| (k.clone(), v)).collect())
    }
}

pub(crate) fn schema(path: &str, message: String) -> PolicyError {
    PolicyError::at(path, Problem::Schema { message })
}

pub(crate) fn join(path: &str, field: &str) -> String {
    if path.is_empty() { field.to_owned() } else { format!("{path}.{field}") }
}

/// An object's members, checked against the fields it may have.
pub(crate) struct Obj<V> {
    path: String,
    members: Vec<(String, V)>,
}

impl<V: JsonValue> Obj<V> {
    pub(crate) fn new(v: &V, path: &str, allowed: &[&str]) -> Result<Self, PolicyError> {
        let members = v.as_object().ok_or_else(|| schema(path, "invalid type: expected an object".into()))?;
        for (k, _) in &members {
            if !allowed.contains(&k.as_str()) {
                let expected: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
                return Err(schema(
                    &join(path, k),
                    format!("unknown field `{k}`, expected one of {}", expected.join(", ")),
                ));
            }
        }
        for (i, (k, _)) in members.iter().enumerate() {
            if members[..i].iter().any(|(o, _)| o == k) {
                return Err(schema(&join(path, k), format!("duplicate field `{k}`")));
            }
        }
        Ok(Self { path: path.to_owned(), members })
    }

    pub(crate) fn get(&self, field: &str) -> Option<&V> {
        self.members.iter().find(|(k, _)| k == field).map(|(_, v)| v).filter(|v| !v.is_null())
    }

    pub(crate) fn at(&self, field: &str) -> String {
        join(&self.path, field)
    }

    pub(crate) fn required(&self, field: &str) -> Result<&V, PolicyError> {
        self.get(field).ok_or_else(|| schema(&self.path, format!("missing field `{field}`")))
    }

    pub(crate) fn string(&self, field: &str) -> Result<Option<String>, PolicyError> {
        self.get(field)
            .map(|v| {
                v.as_string().ok_or_else(|| schema(&self.at(field), "invalid type: expected a string".into()))
            })
            .transpose()
    }

    pub(crate) fn required_string(&self, field: &str) -> Result<String, PolicyError> {
        self.required(field)?;
        self.string(field)?.ok_or_else(|| schema(&self.path, format!("missing field `{field}`")))
    }

    pub(crate) fn bool(&self, field: &str) -> Result<Option<bool>, PolicyError> {
        self.get(field)
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| schema(&self.at(field), "invalid type: expected true or false".into()))
            })
            .transpose()
    }

    pub(crate) fn u32(&self, field: &str) -> Result<Option<u32>, PolicyError> {
        self.get(field)
            .map(|v| {
                v.as_f64()
                    // In range and whole (`f64::fract` needs std): the cast back is exact.
                    .filter(|n| *n >= 0.0 && *n <= f64::from(u32::MAX) && f64::from(*n as u32) == *n)
                    .map(|n| n as u32)
                    .ok_or_else(|| {
                        schema(
                            &self.at(field),
                            "invalid value: expected a whole number from 0 to 4294967295".into(),
                        )
                    })
            })
            .transpose()
    }

    pub(crate) fn strings(&self, field: &str) -> Result<Vec<String>, PolicyError> {
        let Some(v) = self.get(field) else { return Ok(Vec::new()) };
        let items =
            v.as_array().ok_or_else(|| schema(&self.at(field), "invalid type: expected an array".into()))?;
        items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.as_string().ok_or_else(|| {
                    schema(&format!("{}[{i}]", self.at(field)), "invalid type: expected a string".into())
                })
            })
            .collect()
    }

    pub(crate) fn variant<T: Copy>(
        &self,
        field: &str,
        options: &[(&str, T)],
    ) -> Result<Option<T>, PolicyError> {
        let Some(s) = self.string(field)? else { return Ok(None) };
        options.iter().find(|(name, _)| *name == s).map(|(_, t)| Some(*t)).ok_or_else(|| {
            let names: Vec<String> = options.iter().map(|(n, _)| format!("`{n}`")).collect();
            schema(&self.at(field), format!("unknown variant `{s}`, expected one of {}", names.join(", ")))
        })
    }
}
