//! Where panes go: a grid that adapts to the number of agents and the terminal, with a
//! running parallel group side by side, or a compact list when the panes no longer fit.

use ratatui::layout::Rect;

/// The smallest pane worth drawing.
pub const MIN_PANE_WIDTH: u16 = 24;
pub const MIN_PANE_HEIGHT: u16 = 6;
/// Width of the agent list in compact mode.
pub const LIST_WIDTH: u16 = 28;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Pane index and where it goes, row by row.
    Grid {
        panes: Vec<(usize, Rect)>,
        columns: usize,
    },
    /// Too many agents for a grid: a list of them all beside the focused pane.
    Compact { list: Rect, pane: (usize, Rect) },
}

/// Arranges `order` (pane indexes, a running group's members first) in `area`. `together` of
/// them should share one row when they fit.
pub fn arrange(area: Rect, order: &[usize], together: usize, focus: usize) -> Body {
    let n = order.len().max(1);
    let mut best: Option<(usize, u32)> = None;
    for columns in 1..=n {
        let rows = n.div_ceil(columns);
        let w = area.width / columns as u16;
        let h = area.height / rows as u16;
        if w < MIN_PANE_WIDTH || h < MIN_PANE_HEIGHT {
            continue;
        }
        // Terminal cells are about twice as tall as wide: favour panes that look square.
        let score = u32::from(w.min(h.saturating_mul(2)));
        let fits_group = columns >= together;
        let better = match best {
            None => true,
            Some((c, s)) => {
                let best_fits = c >= together;
                (fits_group && !best_fits) || (fits_group == best_fits && score > s)
            }
        };
        if better {
            best = Some((columns, score));
        }
    }
    let Some((columns, _)) = best else {
        let list_width = LIST_WIDTH.min(area.width / 2);
        let list = Rect {
            width: list_width,
            ..area
        };
        let pane = Rect {
            x: area.x + list_width,
            width: area.width - list_width,
            ..area
        };
        return Body::Compact {
            list,
            pane: (focus, pane),
        };
    };
    let rows = n.div_ceil(columns);
    let mut panes = Vec::with_capacity(n);
    for (i, &pane) in order.iter().enumerate() {
        let (row, col) = (i / columns, i % columns);
        // The last row may hold fewer panes: they share its whole width.
        let in_row = if row == rows - 1 {
            n - row * columns
        } else {
            columns
        };
        let x0 = area.x + (area.width as usize * col / in_row) as u16;
        let x1 = area.x + (area.width as usize * (col + 1) / in_row) as u16;
        let y0 = area.y + (area.height as usize * row / rows) as u16;
        let y1 = area.y + (area.height as usize * (row + 1) / rows) as u16;
        panes.push((pane, Rect::new(x0, y0, x1 - x0, y1 - y0)));
    }
    Body::Grid { panes, columns }
}

/// A `width` × `height` rectangle centred in `area`, no larger than it.
pub fn centered_size(area: Rect, width: u16, height: u16) -> Rect {
    let (w, h) = (width.min(area.width), height.min(area.height));
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// A rectangle of `percent` of `area`, centred.
pub fn centered(area: Rect, percent_x: u16, percent_y: u16) -> Rect {
    let w = (area.width as u32 * percent_x as u32 / 100) as u16;
    let h = (area.height as u32 * percent_y as u32 / 100) as u16;
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w.max(1).min(area.width),
        h.max(1).min(area.height),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize, w: u16, h: u16, together: usize) -> (usize, Vec<Rect>) {
        let order: Vec<usize> = (0..n).collect();
        match arrange(Rect::new(0, 0, w, h), &order, together, 0) {
            Body::Grid { panes, columns } => (columns, panes.into_iter().map(|p| p.1).collect()),
            Body::Compact { .. } => (0, Vec::new()),
        }
    }

    #[test]
    fn grids_fill_the_area_without_overlap() {
        for n in 1..=16 {
            let (columns, rects) = grid(n, 200, 50, 1);
            assert!(columns > 0, "{n} agents fit 200x50");
            let area: u32 = rects.iter().map(|r| r.width as u32 * r.height as u32).sum();
            assert_eq!(area, 200 * 50, "{n} agents tile the whole body");
            for (i, a) in rects.iter().enumerate() {
                for b in &rects[i + 1..] {
                    assert!(!a.intersects(*b), "{n}: {a:?} overlaps {b:?}");
                }
            }
        }
    }

    #[test]
    fn a_parallel_group_shares_one_row() {
        let (columns, rects) = grid(6, 160, 40, 3);
        assert!(columns >= 3);
        assert_eq!(rects[0].y, rects[2].y);
    }

    #[test]
    fn too_many_agents_fall_back_to_the_compact_list() {
        let order: Vec<usize> = (0..40).collect();
        let body = arrange(Rect::new(0, 0, 80, 24), &order, 1, 7);
        assert!(matches!(body, Body::Compact { pane: (7, _), .. }));
    }
}
