import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// CPU time and peak memory of another process, from /proc.
struct ProcessStats {
    /// User + system CPU time.
    var cpu: Duration
    /// Peak resident set size in bytes (VmHWM).
    var peakRSS: Int

    static func read(pid: Int32) -> ProcessStats? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state is field 3; utime 14, stime 15 (1-based).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let utime = Int(fields[11]), let stime = Int(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let cpu = Duration.milliseconds(Int64(Double(utime + stime) / ticks * 1000))
        var rss = 0
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) {
            rss = (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return ProcessStats(cpu: cpu, peakRSS: rss)
    }
}

extension ProcessStats {
    /// CPU summed over processes; peak RSS summed too (the memory the workers hold together).
    static func sum(_ all: [ProcessStats?]) -> ProcessStats? {
        var total = ProcessStats(cpu: .zero, peakRSS: 0)
        for s in all {
            guard let s else { return nil }
            total.cpu += s.cpu
            total.peakRSS += s.peakRSS
        }
        return total
    }
}

extension Duration {
    var ms: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}

/// The q-quantile (0…1) of already-sorted values.
func quantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let i = min(sorted.count - 1, max(0, Int((Double(sorted.count - 1) * q).rounded())))
    return sorted[i]
}
