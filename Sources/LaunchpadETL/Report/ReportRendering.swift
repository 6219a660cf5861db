/// The report as a terminal table, CSV, or a self-contained HTML page with a heatmap.
extension ActivityReport {
    /// Members down, ISO weeks across, totals per cell (marked by coverage: `cell`) and per
    /// member; then per member and type; then the legend, what was not read and who read it.
    public func table() -> String {
        guard !members.isEmpty else { return emptyReason + "\n" }
        let labels = weeks.map(Self.isoWeek)
        let nameWidth = max(6, members.map(\.count).max() ?? 0)
        func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
            let padding = String(repeating: " ", count: max(0, width - text.count))
            return left ? text + padding : padding + text
        }
        let widths = labels.map { max($0.count, 3) }
        var lines: [String] = []
        lines.append(
            ([pad("member", nameWidth, left: true)] + zip(labels, widths).map { pad($0, $1) } + [pad("total", 6)]).joined(separator: "  "))
        for member in members {
            let cells = zip(weeks, widths).map { week, width in pad(cell(member: member, week: week), width) }
            lines.append(([pad(member, nameWidth, left: true)] + cells + [pad(totalCell(member: member), 6)]).joined(separator: "  "))
        }
        lines.append("")
        let typeWidth = max(4, types.map(\.count).max() ?? 0)
        lines.append(
            ([pad("member", nameWidth, left: true), pad("type", typeWidth, left: true), pad("events", 6)]).joined(separator: "  "))
        for member in members {
            for type in types where total(member: member, type: type) > 0 {
                lines.append(
                    [
                        pad(member, nameWidth, left: true), pad(type, typeWidth, left: true),
                        pad(String(total(member: member, type: type)), 6),
                    ]
                    .joined(separator: "  "))
            }
        }
        if recordsCoverage {
            lines.append("")
            lines.append(Self.legend)
            lines.append(contentsOf: notReadLines)
            lines.append(contentsOf: readerLines)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `member,iso_week,week_start,event_type,events,coverage`: one line per member, week and
    /// type with events, one with an empty type and 0 events per extracted week without any,
    /// and one with an empty type and an empty count (not 0: a pivot must not read it as a
    /// quiet week) per week nobody extracted. `coverage` is `complete`, `partial` or `none`
    /// (`coverage(member:week:)`; `partial`, not `complete`, when some of the week's events are of
    /// a source no window covers: the table's `?`), empty when the store records no coverage.
    public func csv() -> String {
        var lines = ["member,iso_week,week_start,event_type,events,coverage"]
        var byCell: [String: [String: Int]] = [:]
        for count in counts { byCell[count.member + "\u{1F}" + count.week, default: [:]][count.type, default: 0] += count.count }
        for member in members {
            for week in weeks {
                var coverage = recordsCoverage ? coverage(member: member, week: week) : nil
                // Events no window covers beside a covered week: not all of it was read whole.
                if coverage == .complete, holdsUncoveredEvents(member: member, week: week) { coverage = .partial }
                let types = byCell[member + "\u{1F}" + week] ?? [:]
                let rows: [(String, Int?)] =
                    types.isEmpty
                    ? (coverage == nil ? [] : [("", coverage == WeekCoverage.none ? nil : 0)])
                    : types.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                for (type, events) in rows {
                    lines.append(
                        [
                            Self.csvField(member), Self.isoWeek(week), week, Self.csvField(type), events.map(String.init) ?? "",
                            coverage?.rawValue ?? "",
                        ]
                        .joined(separator: ","))
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A standalone page: a heatmap of members × ISO weeks (SVG, numbers in the cells), a
    /// table of events per member and type, and no external resources.
    public func html(title: String = "Launchpad activity") -> String {
        let cell = 46
        let rowHeight = 26
        let left = 12 + 8 * max(6, members.map(\.count).max() ?? 0)
        let top = 34
        let width = left + cell * max(1, weeks.count) + 70
        let height = top + rowHeight * max(1, members.count) + 10
        let scale = max(1, busiestWeek)
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" role=\"img\" aria-label=\"events per member and week\">"
        for (column, week) in weeks.enumerated() {
            let x = left + column * cell + cell / 2
            svg +=
                "<text x=\"\(x)\" y=\"\(top - 12)\" class=\"week\" text-anchor=\"middle\">\(Self.escape(String(Self.isoWeek(week).dropFirst(5))))<title>\(Self.isoWeek(week)) (from \(week))</title></text>"
        }
        svg += "<text x=\"\(left + cell * weeks.count + 8)\" y=\"\(top - 12)\" class=\"week\">total</text>"
        for (row, member) in members.enumerated() {
            let y = top + row * rowHeight
            svg += "<text x=\"\(left - 8)\" y=\"\(y + 17)\" text-anchor=\"end\" class=\"member\">\(Self.escape(member))</text>"
            for (column, week) in weeks.enumerated() {
                let value = total(member: member, week: week)
                let intensity = value == 0 ? 0 : 0.15 + 0.85 * Double(value) / Double(scale)
                let x = left + column * cell
                let coverage = recordsCoverage ? self.coverage(member: member, week: week) : nil
                let text = coverage.map { self.cell(member: member, week: week, coverage: $0) } ?? (value == 0 ? "" : String(value))
                let fill = coverage == WeekCoverage.none && value == 0 ? "#f2f2f2" : "rgba(233,84,32,\(Self.fixed(intensity)))"
                let said: String
                switch coverage {
                case nil: said = ""
                case .complete? where holdsUncoveredEvents(member: member, week: week):
                    said = " (extracted, beside events loaded without a record of what was extracted)"
                case .complete?: said = " (extracted)"
                case .partial?: said = " (partly extracted, or read with gaps)"
                case .none?: said = value == 0 ? " (not extracted)" : " (loaded without a record of what was extracted)"
                }
                svg +=
                    "<g class=\"cell\" data-member=\"\(Self.escape(member))\" data-week=\"\(week)\" data-events=\"\(value)\" data-coverage=\"\(coverage?.rawValue ?? "")\">"
                svg +=
                    "<rect x=\"\(x + 1)\" y=\"\(y + 1)\" width=\"\(cell - 2)\" height=\"\(rowHeight - 2)\" rx=\"3\" fill=\"\(fill)\" stroke=\"#ddd\"\(coverage == .partial ? " stroke-dasharray=\"3 2\"" : "")/>"
                svg += "<text x=\"\(x + cell / 2)\" y=\"\(y + 17)\" text-anchor=\"middle\">\(Self.escape(text))</text>"
                svg += "<title>\(Self.escape(member)), \(Self.isoWeek(week)): \(value) events\(said)</title></g>"
            }
            svg += "<text x=\"\(left + cell * weeks.count + 8)\" y=\"\(y + 17)\" class=\"total\">\(totalCell(member: member))</text>"
        }
        svg += "</svg>"

        var rows = ""
        for member in members {
            rows += "<tr><th>\(Self.escape(member))</th>"
            for type in types {
                rows +=
                    "<td data-member=\"\(Self.escape(member))\" data-type=\"\(Self.escape(type))\">\(total(member: member, type: type))</td>"
            }
            rows += "<td class=\"total\">\(totalCell(member: member))</td></tr>"
        }
        let header = types.map { "<th>\(Self.escape($0))</th>" }.joined()
        var coverageNotes = ""
        if recordsCoverage {
            coverageNotes = "<p id=\"legend\">\(Self.escape(Self.legend))</p>"
            let items = notRead.map { "<li>\(Self.escape(Self.describe($0)))</li>" }
            if !items.isEmpty { coverageNotes += "<h2>Not read</h2><ul id=\"not-read\">\(items.joined())</ul>" }
            let readers = readerLines.map { "<li>\(Self.escape($0))</li>" }
            if !readers.isEmpty { coverageNotes += "<h2>Read as</h2><ul id=\"readers\">\(readers.joined())</ul>" }
        }
        let range =
            daySpan.map { "\(Self.isoWeek(weeks[0])) to \(Self.isoWeek(weeks[weeks.count - 1])) (\($0.first) – \($0.last))" }
            ?? "no events"
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
            h1 { font-size: 20px; } svg text { font-size: 12px; } svg .week { fill: #666; } svg .total { font-weight: bold; }
            table { border-collapse: collapse; margin-top: 16px; } th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
            th:first-child { text-align: left; } td.total { font-weight: bold; }
            </style></head>
            <body>
            <h1>\(Self.escape(title))</h1>
            <p>\(members.count) members, \(total) events, \(range). Darker cells: more events in that week.</p>
            \(svg)
            <table id="by-type"><thead><tr><th>member</th>\(header)<th>total</th></tr></thead><tbody>\(rows)</tbody></table>
            \(coverageNotes)
            <p id="rendered"></p>
            <script>
            // Filled in by the browser from the cells above: shows the page rendered and adds up.
            const cells = document.querySelectorAll('g.cell');
            let events = 0; cells.forEach(c => { events += Number(c.dataset.events); });
            document.getElementById('rendered').textContent = 'cells: ' + cells.length + ', events: ' + events;
            </script>
            </body></html>

            """
    }

    static func escape(_ text: String) -> String {
        var output = ""
        for character in text {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            default: output.append(character)
            }
        }
        return output
    }

    /// `text` as one CSV field: quoted when it holds a comma, a quote or a line break (`\r\n`
    /// and `\r` too: a `Character` `\r\n` is not `\n`), and, when it starts as a formula does
    /// (`=`, `+`, `-`, `@`, a tab or a carriage return), with a `'` before it, so that a
    /// spreadsheet shows it rather than running it. Launchpad's names and this ETL's event types
    /// never start so; rows other tools wrote in the table may.
    static func csvField(_ text: String) -> String {
        let safe = text.first.map { "=+-@\t\r".contains($0) } == true ? "'" + text : text
        return safe.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) ? "\"" + safe.replacingQuotes + "\"" : safe
    }

    static func fixed(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }
}

extension String {
    fileprivate var replacingQuotes: String {
        var output = ""
        for character in self { output += character == "\"" ? "\"\"" : String(character) }
        return output
    }
}

extension ActivityReport {
    /// The days the report's whole ISO weeks cover (the first Monday, the last Sunday); nil
    /// when it has no week. `--from` and `--to` widen to their weeks.
    public var daySpan: (first: String, last: String)? {
        guard let first = weeks.first, let last = weeks.last, let sunday = CivilDate(iso: last)?.adding(days: 6) else { return nil }
        return (first, sunday.description)
    }

    /// Members the report was limited to that have no row in it, and why, in one sentence; nil
    /// when every one has a row (or the report is empty: `emptyReason` says why). A typo among
    /// several `--member`s, or a member never extracted for these weeks, would otherwise just
    /// be missing from the report.
    public var membersNotShown: String? {
        guard !members.isEmpty, let requestedMembers else { return nil }
        let unknown = unknownMembers
        let quiet = requestedMembers.filter { !members.contains($0) && !unknown.contains($0) }
        var parts: [String] = []
        if !unknown.isEmpty {
            let shown = knownMembers.prefix(20).joined(separator: ", ")
            parts.append(
                "the store knows no member \(unknown.joined(separator: ", ")) (it knows \(shown)\(knownMembers.count > 20 ? ", …" : ""))")
        }
        if !quiet.isEmpty {
            parts.append("\(quiet.joined(separator: ", ")): no events and nothing loaded in the weeks and sources asked for")
        }
        return parts.isEmpty ? nil : "not shown: " + parts.joined(separator: "; ")
    }

    /// Why the report shows nothing, and what to try.
    public var emptyReason: String {
        let emptyStore = "no events: the store is empty (run the ETL first)"
        if !unknownMembers.isEmpty {
            let shown = knownMembers.prefix(20).joined(separator: ", ")
            let more = knownMembers.count > 20 ? ", …" : ""
            return knownMembers.isEmpty
                ? emptyStore
                : "no events: the store knows no member \(unknownMembers.joined(separator: ", ")) (it knows \(shown)\(more))"
        }
        if !otherSources.isEmpty {
            return
                "no events of the sources shown; the store also holds \(otherSources.joined(separator: ", ")) events (--source all shows every source)"
        }
        return knownMembers.isEmpty ? emptyStore : "no events in the weeks asked for"
    }
}
