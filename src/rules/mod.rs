//! The process: exit criteria, the check, a move's plan, the three-way merge
//! of a deal. Uses store/ and below.

pub mod check;
pub mod criteria;
pub mod merge;
pub mod transition;
