import Foundation
import Testing

@testable import TemporalWorker

/// Reading a process's CPU limit from its cgroups (v1 and v2, a container's bind-mounted
/// hierarchy) and confining its threads to the CPUs the limit covers.
@Suite(.serialized) struct CPULimitTests {
    static let mountinfo = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        41 31 0:40 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct
        42 23 0:41 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """

    @Test func findsTheMountsThatCarryTheCPUController() {
        let mounts = CPULimit.cgroupMounts(Self.mountinfo)
        #expect(
            mounts == [
                .init(root: "/", point: "/sys/fs/cgroup/cpu", v2: false),
                .init(root: "/docker/abc", point: "/sys/fs/cgroup/cpu,cpuacct", v2: false),
                .init(root: "/", point: "/sys/fs/cgroup/unified", v2: true),
            ])
    }

    @Test func findsTheProcesssCgroupInEachHierarchy() {
        let cgroups = "9:name=systemd:/\n4:memory:/m\n2:cpu,cpuacct:/bench/w1\n0::/slice/w1\n"
        #expect(CPULimit.cgroupPath(cgroups, v2: false) == "/bench/w1")
        #expect(CPULimit.cgroupPath(cgroups, v2: true) == "/slice/w1")
        #expect(CPULimit.cgroupPath("1:cpuacct:/\n", v2: false) == nil, "cpuacct alone has no quota")
    }

    @Test func walksFromTheCgroupUpToTheMountPoint() {
        let plain = CPULimit.Mount(root: "/", point: "/sys/fs/cgroup/cpu", v2: false)
        #expect(
            CPULimit.directories(of: "/a/b", mount: plain) == [
                "/sys/fs/cgroup/cpu/a/b", "/sys/fs/cgroup/cpu/a", "/sys/fs/cgroup/cpu",
            ])
        #expect(CPULimit.directories(of: "/", mount: plain) == ["/sys/fs/cgroup/cpu"])
        // A container sees its own cgroup at the mount point.
        let container = CPULimit.Mount(root: "/docker/abc", point: "/sys/fs/cgroup/cpu", v2: false)
        #expect(CPULimit.directories(of: "/docker/abc", mount: container) == ["/sys/fs/cgroup/cpu"])
        #expect(CPULimit.directories(of: "/docker/abc/x", mount: container) == ["/sys/fs/cgroup/cpu/x", "/sys/fs/cgroup/cpu"])
    }

    @Test func readsQuotasOfBothVersions() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cpulimit-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
        }
        try write("cpu.max", "max 100000\n")
        #expect(CPULimit.quota(in: directory, v2: true) == nil, "no limit")
        try write("cpu.max", "10000 100000\n")
        #expect(CPULimit.quota(in: directory, v2: true) == 0.1)
        try write("cpu.cfs_quota_us", "-1\n")
        try write("cpu.cfs_period_us", "100000\n")
        #expect(CPULimit.quota(in: directory, v2: false) == nil, "no limit")
        try write("cpu.cfs_quota_us", "250000\n")
        #expect(CPULimit.quota(in: directory, v2: false) == 2.5)
        #expect(CPULimit.quota(in: directory + "/missing", v2: false) == nil)
    }

    #if os(Linux)
    @Test func readsTheLimitOfARealCgroup() throws {
        // As root with cgroup v1's cpu controller at /sys/fs/cgroup/cpu (this machine, CI): the
        // test process joins a group with a quota for a moment. The quota covers more CPUs than
        // the machine has, so a worker starting meanwhile in another test confines nothing.
        let root = "/sys/fs/cgroup/cpu"
        guard getuid() == 0, FileManager.default.isWritableFile(atPath: "\(root)/cgroup.procs") else { return }
        let original = CPULimit.cgroupPath(try String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8), v2: false) ?? "/"
        let home = "\(root)\(original == "/" ? "" : original)/cgroup.procs"
        guard FileManager.default.isWritableFile(atPath: home) else { return }
        let group = "\(root)/cpulimit-test-\(getpid())"
        try FileManager.default.createDirectory(atPath: group, withIntermediateDirectories: false)
        defer { rmdir(group) }
        let cores = Double(CPULimit.allowedCPUs().count) + 0.5
        try "100000".write(toFile: "\(group)/cpu.cfs_period_us", atomically: false, encoding: .utf8)
        try "\(Int(cores * 100_000))".write(toFile: "\(group)/cpu.cfs_quota_us", atomically: false, encoding: .utf8)
        try "\(getpid())".write(toFile: "\(group)/cgroup.procs", atomically: false, encoding: .utf8)
        let seen = CPULimit.current()
        try "\(getpid())".write(toFile: home, atomically: false, encoding: .utf8)  // back home before the group goes
        #expect(seen == cores)
    }

    @Test func confinesEveryThreadAndLetsGoAgain() throws {
        let allowed = CPULimit.allowedCPUs()
        guard allowed.count >= 2 else { return }
        #expect(CPULimit.confineThreads(toCores: Double(allowed.count)) == nil, "as many CPUs as it has: nothing to do")
        let chosen = try #require(CPULimit.confineThreads(toCores: 0.1))
        defer { _ = CPULimit.setAffinity(allowed) }
        #expect(chosen.count == 1 && allowed.contains(chosen[0]))
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        for task in tasks {
            guard let status = try? String(contentsOfFile: "/proc/self/task/\(task)/status", encoding: .utf8) else { continue }
            let line = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
            #expect(line?.split(separator: "\t").last.map(String.init) == "\(chosen[0])", "thread \(task): \(line ?? "")")
        }
        #expect(CPULimit.allowedCPUs() == chosen)
        #expect(CPULimit.setAffinity(allowed))
        #expect(CPULimit.allowedCPUs() == allowed)
    }
    #endif
}
