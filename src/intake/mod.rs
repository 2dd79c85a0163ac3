//! What comes in: CRM imports, leads from forms, the example pipeline. Uses
//! reports/ and below.

pub mod example;
pub mod import;
pub mod leads;

#[cfg(test)]
mod tests;
