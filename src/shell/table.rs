//! The two tables ksqlDB's CLI draws: the one for statements' answers (SHOW, LIST, DESCRIBE),
//! sized to its cells, and the one a query's rows stream into, of fixed-width cells, drawn a
//! row at a time as rows arrive.

use comfy_table::{ContentArrangement, ContentLineStyle, LineStyle, Table, TableStyle};

/// ksqlDB's CLI's table: `|` between cells, a line of dashes under the header and at the end.
const ANSWER_STYLE: TableStyle = TableStyle::new()
    .header_lines(ContentLineStyle::none().junction('|'))
    .header_separator(LineStyle::none().fill('-').junction('-'))
    .content_lines(ContentLineStyle::none().junction('|'))
    .bottom_border(LineStyle::none().fill('-').junction('-'));

/// A statement's answer as a table: a header, a line of dashes, the rows, and the dashes again
/// (no outer border), each cell padded by one space; the lines of dashes are at most `width`
/// long.
pub fn answer_table(headers: &[&str], rows: &[Vec<String>], width: usize) -> String {
    let mut table = Table::new();
    table
        .load_style(ANSWER_STYLE)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.iter().copied());
    for row in rows {
        table.add_row(row.iter().map(String::as_str));
    }
    let mut out = String::new();
    for line in table.lines() {
        if line.starts_with('-') {
            push_line(&mut out, &"-".repeat(line.chars().count().min(width)));
        } else {
            push_line(&mut out, &line);
        }
    }
    out
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

/// A query's rows, drawn as they arrive: every column `cell_width` wide, a value longer than
/// that wrapped onto more lines of the same row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowTable {
    columns: usize,
    cell_width: usize,
}

impl RowTable {
    /// Columns of equal width sharing `width` characters (at least 5 each, as ksqlDB's).
    pub fn new(columns: usize, width: usize) -> RowTable {
        let columns = columns.max(1);
        RowTable {
            columns,
            cell_width: (width / columns).saturating_sub(2).max(5),
        }
    }

    pub fn separator(&self) -> String {
        let mut line = String::from("+");
        for _ in 0..self.columns {
            line.push_str(&"-".repeat(self.cell_width));
            line.push('+');
        }
        line.push('\n');
        line
    }

    /// The header: the column names between two separators.
    pub fn header(&self, names: &[String]) -> String {
        let mut out = self.separator();
        out.push_str(&self.row(names));
        out.push_str(&self.separator());
        out
    }

    /// One row of cells, as many lines as its longest cell needs.
    pub fn row(&self, cells: &[String]) -> String {
        let chunks: Vec<Vec<String>> = cells.iter().map(|c| self.chunks(c)).collect();
        let height = chunks.iter().map(Vec::len).max().unwrap_or(1);
        let blank = " ".repeat(self.cell_width);
        let mut out = String::new();
        for line in 0..height {
            out.push('|');
            for column in 0..self.columns {
                let chunk = chunks
                    .get(column)
                    .and_then(|c| c.get(line))
                    .map_or(blank.as_str(), String::as_str);
                out.push_str(chunk);
                out.push('|');
            }
            out.push('\n');
        }
        out
    }

    /// A value cut into pieces of the cell's width, the last padded with spaces.
    fn chunks(&self, value: &str) -> Vec<String> {
        let chars: Vec<char> = value.chars().collect();
        if chars.is_empty() {
            return vec![" ".repeat(self.cell_width)];
        }
        chars
            .chunks(self.cell_width)
            .map(|piece| {
                let mut text: String = piece.iter().collect();
                text.push_str(&" ".repeat(self.cell_width - piece.len()));
                text
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_a_header_dashes_rows_and_dashes() {
        let drawn = answer_table(
            &[
                "Stream Name",
                "Kafka Topic",
                "Key Format",
                "Value Format",
                "Windowed",
            ],
            &[vec![
                "A".into(),
                "t1".into(),
                "JSON".into(),
                "JSON".into(),
                "true".into(),
            ]],
            200,
        );
        assert_eq!(
            drawn,
            " Stream Name | Kafka Topic | Key Format | Value Format | Windowed \n\
             ------------------------------------------------------------------\n \
             A           | t1          | JSON       | JSON         | true     \n\
             ------------------------------------------------------------------\n"
        );
        // No rows: the header and its two lines.
        let empty = answer_table(&["Message"], &[], 200);
        assert_eq!(empty, " Message \n---------\n---------\n");
        // The dashes never run past the terminal.
        assert!(answer_table(&["A long header"], &[], 5).contains("\n-----\n"));
    }

    #[test]
    fn rows_have_cells_of_one_width_and_wrap_long_values() {
        let table = RowTable::new(2, 20);
        assert_eq!(table.separator(), "+--------+--------+\n");
        assert_eq!(
            table.header(&["foo".into(), "bar is a long string".into()]),
            "+--------+--------+\n|foo     |bar is a|\n|        | long st|\n|        |ring    |\n+--------+--------+\n"
        );
        assert_eq!(
            table.row(&[String::new(), "x".into()]),
            "|        |x       |\n"
        );
        // Narrow terminals still get five characters a cell.
        assert_eq!(RowTable::new(10, 20).separator().len(), 1 + 10 * 6 + 1);
    }
}
