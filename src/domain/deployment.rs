//! The deployment's nodes as Administration > System > Deployment shows
//! them, and the personas an admin gives a node.

use super::FieldError;
use serde::{Deserialize, Serialize};

/// What a node does, as ISE names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Persona {
    /// Serves the admin console and runs the scheduled jobs.
    Administration,
    /// Serves the guest and sponsor portals and sends mail.
    PolicyService,
}

impl Persona {
    pub const ALL: [Persona; 2] = [Persona::Administration, Persona::PolicyService];

    pub fn as_str(self) -> &'static str {
        match self {
            Persona::Administration => "administration",
            Persona::PolicyService => "policy-service",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Persona::Administration => "Administration",
            Persona::PolicyService => "Policy Service",
        }
    }

    /// One bit per persona, for a node's running copy of its own.
    pub fn bit(self) -> u8 {
        match self {
            Persona::Administration => 1,
            Persona::PolicyService => 2,
        }
    }
}

/// A node's personas, stored as a comma-separated list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Personas(u8);

impl Personas {
    pub const EVERY: Personas = Personas(3);

    pub fn from_bits(bits: u8) -> Personas {
        Personas(bits & Personas::EVERY.0)
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    /// Reads a stored list; unknown names are ignored, and an empty list
    /// (which the page never saves) means every persona.
    pub fn parse(list: &str) -> Personas {
        let bits = list
            .split(',')
            .filter_map(|name| Persona::ALL.into_iter().find(|p| p.as_str() == name.trim()))
            .fold(0, |bits, p| bits | p.bit());
        if bits == 0 {
            Personas::EVERY
        } else {
            Personas(bits)
        }
    }

    pub fn has(self, persona: Persona) -> bool {
        self.0 & persona.bit() != 0
    }

    pub fn list(self) -> Vec<Persona> {
        Persona::ALL.into_iter().filter(|p| self.has(*p)).collect()
    }

    pub fn stored(self) -> String {
        self.list()
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn labels(self) -> String {
        self.list()
            .iter()
            .map(|p| p.label())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One row of the Deployment page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeView {
    pub name: String,
    pub personas: Personas,
    /// Runs the scheduled jobs now (PRIMARY); the others are SECONDARY.
    pub primary: bool,
    pub version: String,
    pub connected: bool,
    pub started_at_ms: i64,
    pub heartbeat_at_ms: i64,
    /// The node that answered this request.
    pub this_node: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentView {
    /// "SQLite (embedded)" or "PostgreSQL", with no address or credential.
    pub database: String,
    pub nodes: Vec<NodeView>,
    /// How long without a heartbeat before a node shows Disconnected.
    pub disconnected_after_seconds: i64,
}

/// Edit Node: the personas to give `node`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonasForm {
    pub node: String,
    #[serde(default)]
    pub administration: bool,
    #[serde(default)]
    pub policy_service: bool,
}

impl PersonasForm {
    pub fn validate(&self) -> Result<Personas, FieldError> {
        let mut bits = 0;
        if self.administration {
            bits |= Persona::Administration.bit();
        }
        if self.policy_service {
            bits |= Persona::PolicyService.bit();
        }
        if bits == 0 {
            return Err(FieldError::new(
                "personas",
                "Choose at least one persona: a node without one would do nothing.",
            ));
        }
        Ok(Personas(bits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personas_are_stored_and_read_back() {
        assert_eq!(
            Personas::parse("administration,policy-service"),
            Personas::EVERY
        );
        let psn = Personas::parse("policy-service");
        assert!(psn.has(Persona::PolicyService) && !psn.has(Persona::Administration));
        assert_eq!(psn.stored(), "policy-service");
        assert_eq!(psn.labels(), "Policy Service");
        assert_eq!(Personas::parse(""), Personas::EVERY);
        assert_eq!(Personas::parse("monitoring"), Personas::EVERY);
        assert_eq!(Personas::from_bits(0xff), Personas::EVERY);
    }

    #[test]
    fn a_node_keeps_at_least_one_persona() {
        let none = PersonasForm {
            node: "psn-1".into(),
            ..Default::default()
        };
        assert_eq!(none.validate().unwrap_err().field, "personas");
        let admin = PersonasForm {
            node: "psn-1".into(),
            administration: true,
            policy_service: false,
        };
        assert_eq!(admin.validate().unwrap().stored(), "administration");
    }
}
