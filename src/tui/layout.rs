//! Where panes go: a grid of every agent in the crew's order, chosen from what fits the
//! terminal, or a list of all of them beside the focused pane when the grid's panes would be
//! too small to show every title whole. A pane keeps its place for the whole run.

use ratatui::layout::Rect;

/// The smallest pane worth drawing.
pub const MIN_PANE_WIDTH: u16 = 24;
pub const MIN_PANE_HEIGHT: u16 = 6;
/// The narrowest list in compact mode.
pub const LIST_WIDTH: u16 = 28;
/// Columns a list line needs besides the label: the focus marker, a short badge, borders.
pub const LIST_EXTRA: usize = 13;

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

/// Arranges `n` panes in `area`, in order, each at least `min_width` wide (what its title
/// needs) and [`MIN_PANE_HEIGHT`] tall; else the compact list, `list_width` wide where that
/// leaves the focused pane room.
pub fn arrange(area: Rect, n: usize, min_width: u16, list_width: usize, focus: usize) -> Body {
    let n = n.max(1);
    let min_width = min_width.max(MIN_PANE_WIDTH);
    let mut best: Option<(usize, u32)> = None;
    for columns in 1..=n {
        let rows = n.div_ceil(columns);
        let w = area.width / columns as u16;
        let h = area.height / rows as u16;
        if w < min_width || h < MIN_PANE_HEIGHT {
            continue;
        }
        // Terminal cells are about twice as tall as wide: favour panes that look square.
        let score = u32::from(w.min(h.saturating_mul(2)));
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((columns, score));
        }
    }
    let Some((columns, _)) = best else {
        let wanted = u16::try_from(list_width)
            .unwrap_or(u16::MAX)
            .max(LIST_WIDTH);
        let list_width = wanted
            .min(area.width * 2 / 5)
            .max(LIST_WIDTH.min(area.width / 2));
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
    for i in 0..n {
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
        panes.push((i, Rect::new(x0, y0, x1 - x0, y1 - y0)));
    }
    Body::Grid { panes, columns }
}

/// The pane drawn nearest above (`up`) or below `from` among `drawn`: of the row closest to
/// it, the one it overlaps most across, so that moving follows the screen even where the
/// last row's panes are wider than the others.
pub fn neighbour(drawn: &[(usize, Rect)], from: usize, up: bool) -> Option<usize> {
    let &(_, at) = drawn.iter().find(|(i, _)| *i == from)?;
    let overlap = |r: &Rect| {
        let left = r.x.max(at.x);
        let right = (r.x + r.width).min(at.x + at.width);
        right.saturating_sub(left)
    };
    let row_gap = |r: &Rect| {
        if up {
            at.y.checked_sub(r.y + r.height)
        } else {
            r.y.checked_sub(at.y + at.height)
        }
    };
    drawn
        .iter()
        .filter_map(|(i, r)| Some((*i, row_gap(r)?, overlap(r))))
        .filter(|(_, _, overlap)| *overlap > 0)
        .min_by_key(|(_, gap, overlap)| (*gap, std::cmp::Reverse(*overlap)))
        .map(|(i, _, _)| i)
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

    fn grid(n: usize, w: u16, h: u16, min_width: u16) -> (usize, Vec<Rect>) {
        match arrange(Rect::new(0, 0, w, h), n, min_width, 0, 0) {
            Body::Grid { panes, columns } => (columns, panes.into_iter().map(|p| p.1).collect()),
            Body::Compact { .. } => (0, Vec::new()),
        }
    }

    #[test]
    fn grids_fill_the_area_without_overlap() {
        for n in 1..=16 {
            let (columns, rects) = grid(n, 200, 50, 0);
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
    fn titles_that_need_room_choose_fewer_columns_or_the_list() {
        let (columns, _) = grid(8, 160, 40, 0);
        let (wider, rects) = grid(8, 160, 40, 50);
        assert!(wider < columns && wider > 0, "{wider} < {columns}");
        assert!(rects.iter().all(|r| r.width >= 50));
        assert_eq!(grid(8, 160, 40, 161).0, 0, "no grid fits: the list");
    }

    #[test]
    fn too_many_agents_fall_back_to_the_compact_list() {
        let body = arrange(Rect::new(0, 0, 80, 24), 40, 0, 30, 7);
        let Body::Compact {
            list,
            pane: (7, pane),
        } = body
        else {
            panic!("{body:?}");
        };
        assert_eq!((list.width, pane.x, pane.width), (30, 30, 50));
    }

    #[test]
    fn up_and_down_follow_the_screen() {
        // 5 panes in 3 columns: the last row's two panes are wider.
        let Body::Grid { panes, .. } = arrange(Rect::new(0, 0, 150, 40), 5, 0, 0, 0) else {
            panic!("a grid");
        };
        assert_eq!(panes[3].1.y, panes[4].1.y);
        assert_eq!(neighbour(&panes, 0, false), Some(3));
        assert_eq!(neighbour(&panes, 2, false), Some(4));
        assert_eq!(neighbour(&panes, 4, true), Some(2), "{panes:?}");
        assert_eq!(neighbour(&panes, 1, true), None);
    }
}
