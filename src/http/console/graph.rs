//! The approval lineage as an SVG drawn on the server: nodes and edges of
//! [`crate::history::lineage::Lineage`], laid out left to right by the `layout-rs`
//! crate (a Sugiyama-style layered layout), so the browser runs no script to see it.
//! Labels are escaped by the crate's SVG writer; its inline `<style>` is dropped
//! (the console's CSP allows only its own stylesheet, which styles the label classes).

use layout::backends::svg::SVGWriter;
use layout::core::base::Orientation;
use layout::core::color::Color;
use layout::core::geometry::Point;
use layout::core::style::StyleAttr;
use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
use layout::topo::layout::VisualGraph;

use crate::history::lineage::{Lineage, LineageNode};

/// Font size of node labels (styled as `.a12` by the console stylesheet).
const NODE_FONT: usize = 12;
/// Longest label line drawn.
const MAX_LINE: usize = 40;

fn short(text: &str) -> String {
    if text.chars().count() <= MAX_LINE {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX_LINE - 1).collect();
        format!("{cut}…")
    }
}

/// The label of one node, one fact per line.
fn label(node: &LineageNode) -> String {
    let text = |k: &str| node.data[k].as_str().unwrap_or_default().to_owned();
    let lines = match node.kind {
        "decision" => {
            let actor = node.data["actor"]["displayName"]
                .as_str()
                .unwrap_or("unknown actor");
            vec![
                text("operation"),
                text("timestamp").chars().take(19).collect(),
                format!("by {actor}"),
            ]
        }
        "entity" => vec![text("type"), text("label")],
        "request" => vec!["change request".to_owned(), text("label")],
        _ => vec![
            "actor".to_owned(),
            node.data["displayName"]
                .as_str()
                .unwrap_or("unnamed")
                .to_owned(),
        ],
    };
    lines
        .iter()
        .map(|l| short(l))
        .collect::<Vec<_>>()
        .join("\n")
}

fn look(kind: &str) -> StyleAttr {
    let fill = match kind {
        "decision" => "lightyellow",
        "entity" => "lightblue",
        "request" => "lavender",
        _ => "white",
    };
    StyleAttr::new(
        Color::fast("black"),
        1,
        Some(Color::fast(fill)),
        4,
        NODE_FONT,
    )
}

/// The lineage as an inline `<svg>` element; `None` when it has no node or the
/// layout fails (the page then lists the lineage as text).
#[must_use]
pub fn svg(lineage: &Lineage) -> Option<String> {
    if lineage.nodes.is_empty() {
        return None;
    }
    let drawn = std::panic::catch_unwind(|| draw(lineage)).ok()?;
    // Drop the XML declaration and the inline style block.
    let start = drawn.find("<svg")?;
    let mut out = drawn[start..].to_owned();
    if let (Some(a), Some(b)) = (out.find("<style>"), out.find("</style>")) {
        out.replace_range(a..b + "</style>".len(), "");
    }
    Some(out.replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"Approval lineage graph\" ",
        1,
    ))
}

fn draw(lineage: &Lineage) -> String {
    let mut graph = VisualGraph::new(Orientation::LeftToRight);
    let handles: std::collections::HashMap<&str, _> = lineage
        .nodes
        .iter()
        .map(|node| {
            let text = label(node);
            let lines = text.lines().count().max(1);
            let widest = text.lines().map(|l| l.chars().count()).max().unwrap_or(1);
            #[expect(clippy::cast_precision_loss, reason = "label sizes are small counts")]
            let size = Point::new(
                (widest * NODE_FONT * 6 / 10 + 16) as f64,
                (lines * (NODE_FONT + 4) + 12) as f64,
            );
            let shape = match node.kind {
                "actor" => ShapeKind::new_circle(&text),
                _ => ShapeKind::new_box(&text),
            };
            let element = Element::create(shape, look(node.kind), Orientation::LeftToRight, size);
            (node.id.as_str(), graph.add_node(element))
        })
        .collect();
    for edge in &lineage.edges {
        if let (Some(from), Some(to)) = (
            handles.get(edge.from.as_str()),
            handles.get(edge.to.as_str()),
        ) {
            let arrow = Arrow {
                text: edge.edge_type.to_owned(),
                ..Arrow::default()
            };
            graph.add_edge(arrow, *from, *to);
        }
    }
    let mut writer = SVGWriter::new();
    graph.do_it(false, false, false, &mut writer);
    writer.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::lineage::LineageEdge;
    use serde_json::json;

    fn node(id: &str, kind: &'static str, data: serde_json::Value) -> LineageNode {
        LineageNode {
            id: id.into(),
            kind,
            data,
        }
    }

    #[test]
    fn a_lineage_becomes_an_inline_svg_with_escaped_labels_and_no_style_block() {
        let lineage = Lineage {
            nodes: vec![
                node(
                    "e1",
                    "decision",
                    json!({"operation": "ACTIVATE", "timestamp": "2026-11-25T10:00:00.000001Z",
                           "actor": {"displayName": "Ada <script>"}}),
                ),
                node(
                    "t1",
                    "entity",
                    json!({"type": "VersionConstraint", "label": "x & y"}),
                ),
                node("u1", "actor", json!({"displayName": "Ada <script>"})),
            ],
            edges: vec![
                LineageEdge {
                    from: "e1".into(),
                    to: "t1".into(),
                    edge_type: "AUDITS",
                },
                LineageEdge {
                    from: "e1".into(),
                    to: "u1".into(),
                    edge_type: "PERFORMED_BY",
                },
            ],
            mermaid: String::new(),
        };
        let Some(svg) = svg(&lineage) else {
            panic!("an SVG")
        };
        assert!(svg.starts_with("<svg role=\"img\""), "{svg}");
        assert!(svg.contains("ACTIVATE") && svg.contains("AUDITS"));
        assert!(svg.contains("x &amp; y"));
        assert!(!svg.contains("<script>") && svg.contains("Ada &lt;script&gt;"));
        assert!(!svg.contains("<style>"));
    }

    #[test]
    fn an_empty_lineage_draws_nothing() {
        let empty = Lineage {
            nodes: Vec::new(),
            edges: Vec::new(),
            mermaid: String::new(),
        };
        assert!(svg(&empty).is_none());
    }
}
