//! The edit format models answer in, its parser, and the safe applier.
