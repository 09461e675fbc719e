import Foundation
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The directory a coordinator's batch jobs are confined to (`--jobs-root DIR`): a job's corpus
/// and output directory must resolve, after `..` and symbolic links, inside it. Paths from a
/// JobSubmitRequest are untrusted; `check` turns them into real paths or refuses the job.
public struct JobsRoot: Sendable, Equatable {
    /// The root's real path (no symbolic links, no `..`, no trailing slash).
    public let path: String

    /// `dir` must exist and be a directory.
    public init(_ dir: String) throws {
        guard let real = Self.realPath(dir) else { throw ClusterError("--jobs-root \(dir): \(Self.reason(errno))") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDir), isDir.boolValue else {
            throw ClusterError("--jobs-root \(dir): not a directory")
        }
        path = real
    }

    /// True when the real path `p` is the root or below it.
    public func contains(_ p: String) -> Bool { Self.isWithin(p, path) }

    /// True when real path `p` is `dir` or below it.
    public static func isWithin(_ p: String, _ dir: String) -> Bool {
        dir == "/" || p == dir || p.hasPrefix(dir + "/")
    }

    static func reason(_ e: Int32) -> String { String(cString: strerror(e)) }

    /// realpath(3), or nil (errno set).
    static func realPath(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    /// The real path `p` names (relative paths are taken from the root): realpath of its longest
    /// existing prefix, then the components that do not exist yet (which cannot be `..` or
    /// links). Nil when a component is not a directory or cannot be searched.
    public func resolve(_ p: String) -> String? {
        let absolute = p.hasPrefix("/") ? p : path + "/" + p
        var head = absolute
        var tail: [String] = []
        while true {
            if let real = Self.realPath(head) {
                guard !tail.contains(where: { $0 == ".." || $0 == "." }) else { return nil }
                return tail.reversed().reduce(real) { ($0 == "/" ? "" : $0) + "/" + $1 }
            }
            guard errno == ENOENT else { return nil }
            let url = URL(fileURLWithPath: head)
            let last = url.lastPathComponent
            let parent = url.deletingLastPathComponent().path
            guard parent != head, !head.isEmpty else { return nil }
            // A dangling symbolic link is not a name that "does not exist yet": refuse it.
            var st = stat()
            if lstat(head, &st) == 0 { return nil }
            tail.append(last)
            head = parent
        }
    }

    /// The submission with its corpus and output directory replaced by their real paths, or the
    /// status refusing it: PERMISSION_DENIED for a path outside the root, or overlapping another
    /// (the corpus inside the output, either inside the coordinator's data directory).
    public func check(_ m: JobSubmitRequest, dataDir: String) -> Result<JobSubmitRequest, RPCStatus> {
        func denied(_ s: String) -> Result<JobSubmitRequest, RPCStatus> { .failure(RPCStatus(.permissionDenied, s)) }
        guard let corpus = Self.realPath(m.corpusPath.hasPrefix("/") ? m.corpusPath : path + "/" + m.corpusPath) else {
            let e = errno
            return denied("corpus \(m.corpusPath): \(Self.reason(e))")
        }
        guard contains(corpus) else { return denied("corpus \(m.corpusPath) resolves to \(corpus), outside the jobs root \(path)") }
        // A regular file only: a FIFO or a device would block or never end the (serial) indexing.
        var st = stat()
        guard stat(corpus, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            return .failure(RPCStatus(.invalidArgument, "corpus \(m.corpusPath) is not a regular file"))
        }
        guard let out = resolve(m.outDir) else { return denied("output directory \(m.outDir): cannot be resolved (a dangling link, `..` after a missing directory, or a component that is not a directory)") }
        guard contains(out) else { return denied("output directory \(m.outDir) resolves to \(out), outside the jobs root \(path)") }
        guard out != path else { return denied("output directory \(m.outDir) is the jobs root itself: give the job its own directory") }
        guard !Self.isWithin(corpus, out) else { return denied("corpus \(corpus) is inside the output directory \(out): input and output must not overlap") }
        let data = Self.realPath(dataDir) ?? dataDir
        if Self.isWithin(out, data) || Self.isWithin(data, out) { return denied("output directory \(out) overlaps the coordinator's data directory") }
        if Self.isWithin(corpus, data) { return denied("corpus \(corpus) is inside the coordinator's data directory") }
        var r = m
        r.corpusPath = corpus
        r.outDir = out
        return .success(r)
    }

    /// Nil when job `jobID` may write into `out` (a real path): it does not exist, is an empty
    /// directory, or holds this same job's output (its manifest.json names `jobID`); otherwise
    /// ALREADY_EXISTS, and nothing there is touched.
    public static func checkOutputDirectory(_ out: String, jobID: String) -> RPCStatus? {
        var st = stat()
        guard lstat(out, &st) == 0 else { return nil }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return RPCStatus(.alreadyExists, "output \(out) exists and is not a directory") }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        if entries.isEmpty || manifestJobID(out) == jobID { return nil }
        return RPCStatus(.alreadyExists, "output directory \(out) exists and holds something other than this job's (\(jobID)) output: choose a new directory")
    }

    /// The job id in `dir`/manifest.json (read only if it is a small regular file).
    static func manifestJobID(_ dir: String) -> String? {
        let p = dir + "/manifest.json"
        var st = stat()
        guard lstat(p, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size < 1 << 20,
              let data = FileManager.default.contents(atPath: p),
              let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return o["job_id"] as? String
    }
}
