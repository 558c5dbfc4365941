//! The JapanCart plugins, run through the real runtime.
