//! The CNAME step's state.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CnameState {
    pub selected: usize,
}
