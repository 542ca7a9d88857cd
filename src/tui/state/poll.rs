//! The live poll's state: the grid, the selected cell, the findings per name.

use crate::findings::Finding;
use crate::tui::widgets::poll_grid::Grid;
use crate::tui::widgets::text_field::TextField;
use std::collections::HashMap;
use std::time::SystemTime;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollState {
    pub grid: Grid,
    /// (row, column) of the selected cell.
    pub selected: (usize, usize),
    pub findings: HashMap<String, Vec<Finding>>,
    /// When the grid turned all green (the wizard moves on a moment later).
    pub all_green_at: Option<SystemTime>,
    /// The last round: (round, names that work, names).
    pub round: Option<(u64, usize, usize)>,
    /// The user moved the selection since the poll started (or came back to it with
    /// b): the wizard does not move on by itself then.
    pub held: bool,
    /// `/`: the text searched for among the names (Enter: the next name holding it).
    pub find: TextField,
    /// The search takes the typed keys.
    pub finding: bool,
    /// The poller stopped by itself before every cell was green (r restarts it).
    pub stopped: bool,
}
