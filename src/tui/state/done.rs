//! The last step's state (everything it shows comes from the others).

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DoneState {}
