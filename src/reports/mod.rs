//! What is read out of a pipeline: the board, stats, forecast, trend, charts,
//! the HTML report, due dates, the audit of moves, a pull request's review,
//! notifications. Uses rules/ and below.

pub mod audit;
pub mod board;
pub mod charts;
pub mod due;
pub mod forecast;
pub mod notify;
pub mod report;
pub mod review;
pub mod stats;
#[cfg(test)]
pub mod testkit;
pub mod trend;
