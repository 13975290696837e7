package io.jmesh.cli.istioctl;

import java.util.ArrayList;
import java.util.List;

/**
 * A text table as istioctl prints it (Go's tabwriter): left-aligned columns, each as wide as its widest cell,
 * separated by {@code padding} spaces, no trailing spaces.
 */
final class Table {

    private final int padding;
    private final List<String[]> rows = new ArrayList<>();

    Table(int padding, String... header) {
        this.padding = padding;
        rows.add(header);
    }

    Table row(String... cells) {
        rows.add(cells);
        return this;
    }

    /** Number of rows without the header. */
    int size() {
        return rows.size() - 1;
    }

    @Override
    public String toString() {
        int columns = rows.get(0).length;
        int[] width = new int[columns];
        for (String[] r : rows) {
            for (int i = 0; i < columns; i++) {
                width[i] = Math.max(width[i], cell(r, i).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < columns; i++) {
                String c = cell(r, i);
                line.append(c);
                if (i < columns - 1) {
                    line.append(" ".repeat(width[i] - c.length() + padding));
                }
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    private static String cell(String[] row, int i) {
        return i < row.length && row[i] != null ? row[i] : "";
    }
}
