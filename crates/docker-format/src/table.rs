//! Column alignment as Go's `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)` does for the docker CLI.

/// Rows of tab-separated cells, printed aligned.
#[derive(Debug, Default, Clone)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a row of cells.
    pub fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a line whose cells are separated by `\t`.
    pub fn line(&mut self, line: &str) -> &mut Self {
        self.rows
            .push(line.split('\t').map(str::to_string).collect());
        self
    }

    /// How many bytes `render` makes, without making them.
    pub(crate) fn rendered_len(&self) -> usize {
        let widths = self.widths();
        self.rows
            .iter()
            .map(|row| {
                let last = row.last().map_or(0, String::len);
                let padded: usize = row
                    .iter()
                    .enumerate()
                    .take(row.len().saturating_sub(1))
                    .map(|(i, c)| c.len() + (widths[i] - c.chars().count()))
                    .sum();
                padded + last + 1
            })
            .sum()
    }

    fn widths(&self) -> Vec<usize> {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0usize; cols];
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
                widths[i] = widths[i].max((cell.chars().count() + 3).max(10));
            }
        }
        widths
    }

    /// The aligned text, one `\n`-terminated line per row. Every cell but a row's last is
    /// padded to its column's width: the widest cell plus 3, at least 10.
    pub fn render(&self) -> String {
        let widths = self.widths();
        let mut out = String::new();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                out.push_str(cell);
                if i + 1 < row.len() {
                    let pad = widths[i] - cell.chars().count();
                    out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_like_tabwriter() {
        let mut t = Table::new();
        t.row(["REPOSITORY", "TAG", "IMAGE ID"])
            .row(["bb", "1", "0123456789ab"]);
        assert_eq!(
            t.render(),
            "REPOSITORY   TAG       IMAGE ID\nbb           1         0123456789ab\n"
        );
    }
}
