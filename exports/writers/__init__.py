"""Writers: each renders one `FunderReport` into one kind of file; none computes a number of its own."""
