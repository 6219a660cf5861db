#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The CPU limit of this process (a container's or pod's CPU limit: a cgroup CPU quota), and
/// fitting the process's threads to it, as Go's runtime sizes GOMAXPROCS to the quota.
///
/// A worker held to 0.1 core but free to run its threads on every CPU of the machine spreads
/// its work over several CPUs: every hand-over between its threads (a response read, a workflow
/// activation, a continuation resumed) then wakes a thread on another CPU, and each such wake-up
/// costs far more than the same wake-up on one CPU (in a virtual machine it is an
/// inter-processor interrupt and an exit to the hypervisor). Confined to as many CPUs as the
/// quota covers, the same work costs markedly less CPU (BENCHMARKS.md, *CPU limit*). Linux only.
public enum CPULimit {
    /// Cores this process may use per scheduling period: the smallest CPU quota of its cgroup
    /// and of the cgroup's ancestors (v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`);
    /// nil when there is none, or it cannot be read.
    public static func current() -> Double? {
        #if os(Linux)
        guard let cgroups = read("/proc/self/cgroup"), let mounts = read("/proc/self/mountinfo") else { return nil }
        var limit: Double?
        for mount in cgroupMounts(mounts) {
            guard let path = cgroupPath(cgroups, v2: mount.v2) else { continue }
            for directory in directories(of: path, mount: mount) {
                if let cores = quota(in: directory, v2: mount.v2) { limit = min(limit ?? cores, cores) }
            }
        }
        return limit
        #else
        return nil
        #endif
    }

    /// CPUs the calling thread may run on (its affinity mask), in order.
    public static func allowedCPUs() -> [Int] {
        #if os(Linux)
        guard let get = Affinity.get else { return [] }
        var mask = [UInt64](repeating: 0, count: Affinity.words)
        guard get(0, Affinity.bytes, &mask) == 0 else { return [] }
        return (0..<Affinity.words * 64).filter { mask[$0 / 64] & (1 << UInt64($0 % 64)) != 0 }
        #else
        return []
        #endif
    }

    /// Confines every thread of the process, and so the threads they start later, to
    /// `ceil(cores)` of the CPUs it may run on, when that is fewer than those: the CPU the
    /// calling thread runs on and the ones after it (the scheduler put it on one it found free;
    /// workers in containers on one machine, each pid 1, do not all pick the same). The CPUs
    /// chosen, or nil when nothing changed (no fewer CPUs, or not Linux).
    @discardableResult
    public static func confineThreads(toCores cores: Double) -> [Int]? {
        #if os(Linux)
        let allowed = allowedCPUs()
        // ceil(cores) must leave out at least one CPU, or there is nothing to confine.
        guard cores.isFinite, cores > 0, cores <= Double(allowed.count - 1) else { return nil }
        let count = Int(cores.rounded(.up))
        let current = Affinity.currentCPU?() ?? -1
        let first = allowed.firstIndex(of: Int(current)) ?? Int.random(in: 0..<allowed.count)
        let chosen = (0..<count).map { allowed[(first + $0) % allowed.count] }
        return setAffinity(chosen) ? chosen : nil
        #else
        return nil
        #endif
    }

    /// Sets the affinity of every thread of the process to `cpus`; false when none could be set.
    static func setAffinity(_ cpus: [Int]) -> Bool {
        #if os(Linux)
        guard let set = Affinity.set else { return false }
        var mask = [UInt64](repeating: 0, count: Affinity.words)
        for cpu in cpus where cpu < Affinity.words * 64 { mask[cpu / 64] |= 1 << UInt64(cpu % 64) }
        // Two passes: a thread started by a not-yet-confined thread during the first is caught
        // by the second (threads inherit their creator's mask).
        var done = false
        for _ in 0..<2 {
            for task in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
                guard let tid = Int32(task) else { continue }
                if set(tid, Affinity.bytes, &mask) == 0 { done = true }
            }
        }
        return done
        #else
        return false
        #endif
    }

    #if os(Linux)
    /// glibc's `sched_getaffinity`, `sched_setaffinity` and `sched_getcpu` (GNU extensions the
    /// Glibc module does not export), looked up once; the mask is a 1,024-bit `cpu_set_t`.
    private enum Affinity {
        typealias Call = @convention(c) (Int32, Int, UnsafeMutablePointer<UInt64>) -> Int32
        static let words = 16
        static let bytes = words * 8
        static let get = lookup("sched_getaffinity", as: Call.self)
        static let set = lookup("sched_setaffinity", as: Call.self)
        /// `sched_getcpu`: the CPU the calling thread runs on.
        static let currentCPU = lookup("sched_getcpu", as: (@convention(c) () -> Int32).self)
        static func lookup<F>(_ name: String, as type: F.Type) -> F? {
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
            return unsafeBitCast(symbol, to: type)
        }
    }
    #endif

    /// Confines the process's threads to its CPU limit (see `confineThreads(toCores:)`); the
    /// limit and the CPUs chosen, or nil when there is no limit or nothing changed.
    @discardableResult
    public static func fitThreadsToLimit() -> (cores: Double, cpus: [Int])? {
        guard let cores = current(), let cpus = confineThreads(toCores: cores) else { return nil }
        return (cores, cpus)
    }

    // MARK: - cgroup files

    struct Mount: Equatable {
        /// The cgroup path the mount shows at its mount point (often "/"; a container's own
        /// cgroup when the host's hierarchy is bind-mounted).
        var root: String
        var point: String
        var v2: Bool
    }

    /// The cgroup mounts that carry the CPU controller: cgroup2, or cgroup v1 with `cpu`.
    static func cgroupMounts(_ mountinfo: String) -> [Mount] {
        mountinfo.split(separator: "\n").compactMap { line -> Mount? in
            // "<id> <parent> <dev> <root> <point> <options> [optional...] - <type> <source> <super options>"
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { return nil }
            let fields = halves[0].split(separator: " ").map(String.init)
            let tail = halves[1].split(separator: " ").map(String.init)
            guard fields.count >= 5, tail.count >= 3 else { return nil }
            let point = fields[4].replacing("\\040", with: " ")
            if tail[0] == "cgroup2" { return Mount(root: fields[3], point: point, v2: true) }
            if tail[0] == "cgroup", tail[2].split(separator: ",").contains("cpu") {
                return Mount(root: fields[3], point: point, v2: false)
            }
            return nil
        }
    }

    /// This process's cgroup path in the v2 hierarchy ("0::/path") or the v1 one with `cpu`.
    static func cgroupPath(_ cgroups: String, v2: Bool) -> String? {
        for line in cgroups.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if v2, parts[0] == "0", parts[1].isEmpty { return String(parts[2]) }
            if !v2, parts[1].split(separator: ",").contains("cpu") { return String(parts[2]) }
        }
        return nil
    }

    /// The directories of `path` and its ancestors under `mount`, deepest first.
    static func directories(of path: String, mount: Mount) -> [String] {
        var relative = path
        if mount.root != "/" {
            // Not our cgroup's hierarchy (another container's, a sibling): nothing of ours to read.
            guard relative == mount.root || relative.hasPrefix(mount.root + "/") else { return [] }
            relative = String(relative.dropFirst(mount.root.count))
        }
        var components = relative.split(separator: "/").map(String.init)
        var result: [String] = []
        while true {
            result.append(([mount.point] + components).joined(separator: "/"))
            if components.isEmpty { return result }
            components.removeLast()
        }
    }

    /// The quota of one cgroup directory in cores; nil when unlimited or unreadable.
    static func quota(in directory: String, v2: Bool) -> Double? {
        if v2 {
            guard let text = read(directory + "/cpu.max") else { return nil }
            let parts = text.split(whereSeparator: \.isWhitespace)
            guard parts.count == 2, let microseconds = Double(parts[0]), let period = Double(parts[1]), period > 0 else {
                return nil
            }
            return microseconds / period
        }
        guard let quotaText = read(directory + "/cpu.cfs_quota_us"), let periodText = read(directory + "/cpu.cfs_period_us"),
            let microseconds = Double(quotaText.split(whereSeparator: \.isWhitespace).first ?? ""),
            let period = Double(periodText.split(whereSeparator: \.isWhitespace).first ?? ""), microseconds > 0, period > 0
        else { return nil }
        return microseconds / period
    }

    private static func read(_ path: String) -> String? {
        try? String(contentsOfFile: path, encoding: .utf8)
    }
}
