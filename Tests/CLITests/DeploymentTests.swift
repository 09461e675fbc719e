import Foundation
import XCTest

/// The deployment recipes under cluster/: the Kubernetes manifests validate against the Kubernetes
/// schemas (strictly), the container's runtime stage installs every library the built binary links,
/// and the Slurm batch script runs on a real single-node Slurm with output identical to `strata embed`.
final class DeploymentTests: XCTestCase {
    // MARK: helpers

    struct Run { var status: Int32; var output: String }

    /// Runs a program (looked up on PATH) with stdout and stderr into one temporary file, so a
    /// chatty child can never block on a full pipe.
    static func run(_ program: String, _ args: [String], cwd: URL? = nil) throws -> Run {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("deploy-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
        defer { try? FileManager.default.removeItem(at: log) }
        let h = try FileHandle(forWritingTo: log)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + args
        if let cwd { p.currentDirectoryURL = cwd }
        p.standardOutput = h
        p.standardError = h
        try p.run()
        p.waitUntilExit()
        try h.close()
        return Run(status: p.terminationStatus, output: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    static func onPath(_ program: String) -> Bool {
        (try? run("sh", ["-c", "command -v \(program)"]))?.status == 0
    }

    static var k8s: URL { CLI.repo.appendingPathComponent("cluster/k8s") }

    // MARK: Kubernetes

    /// The `resources:` entries of a kustomization.yaml (a flat list of file names).
    static func kustomizeResources(_ dir: URL) throws -> [String] {
        let text = try String(contentsOf: dir.appendingPathComponent("kustomization.yaml"), encoding: .utf8)
        var inResources = false, names: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.hasPrefix("-") { inResources = line.hasPrefix("resources:"); continue }
            let t = line.trimmingCharacters(in: .whitespaces)
            if inResources, t.hasPrefix("- ") { names.append(String(t.dropFirst(2))) }
        }
        return names
    }

    /// Problems with the manifests in `dir`: files not in the kustomization (or listed and absent),
    /// and anything `kubernetes-validate --strict` rejects or cannot check (an unknown kind or
    /// apiVersion is only a warning to it: here it is a failure). Empty when all is well.
    static func manifestProblems(_ dir: URL) throws -> [String] {
        var problems: [String] = []
        let listed = try kustomizeResources(dir)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" }.sorted()
        for f in files where !listed.contains(f) { problems.append("\(f) is not listed in kustomization.yaml") }
        for f in listed where !files.contains(f) { problems.append("kustomization.yaml lists \(f), which does not exist") }
        let present = listed.filter { files.contains($0) }
        guard !present.isEmpty else { return problems + ["no manifests"] }
        var documents = 0
        for f in present {
            let text = try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            documents += text.split(separator: "\n").filter { $0.hasPrefix("kind:") }.count
        }
        let r = try run("kubernetes-validate", ["--strict"] + present, cwd: dir)
        if r.status != 0 { problems.append("kubernetes-validate exited \(r.status)") }
        let lines = r.output.split(separator: "\n").map(String.init)
        problems += lines.filter { !$0.hasPrefix("INFO") }
        let passed = lines.filter { $0.hasPrefix("INFO") && $0.contains(" passed ") }.count
        if passed != documents { problems.append("\(passed) resources passed validation, the files hold \(documents)") }
        return problems
    }

    func requireValidator() throws {
        guard Self.onPath("kubernetes-validate") else {
            throw XCTSkip("kubernetes-validate is not installed (scripts/setup installs it: pip install kubernetes-validate)")
        }
    }

    func testKubernetesManifestsValidateStrictly() throws {
        try requireValidator()
        let problems = try Self.manifestProblems(Self.k8s)
        XCTAssertEqual(problems, [], problems.joined(separator: "\n"))
    }

    /// The check above can fail: an unknown field, a misspelt kind, a wrong type and an unlisted file
    /// in a copy of the base are each reported.
    func testBrokenManifestsAreRejected() throws {
        try requireValidator()
        let breakages: [(file: String, from: String, to: String, expect: String)] = [
            ("worker-statefulset.yaml", "  podManagementPolicy: Parallel\n", "  podManagementPolicy: Parallel\n  maxWorkers: 3\n", "maxWorkers"),
            ("coordinator-service.yaml", "kind: Service\n", "kind: Servise\n", "Servise"),
            ("coordinator-statefulset.yaml", "  replicas: 1\n", "  replicas: one\n", "replicas"),
        ]
        for b in breakages {
            let dir = try CLI.tempDir()
            defer { try? FileManager.default.removeItem(at: dir) }
            for f in try FileManager.default.contentsOfDirectory(atPath: Self.k8s.path) {
                try FileManager.default.copyItem(at: Self.k8s.appendingPathComponent(f), to: dir.appendingPathComponent(f))
            }
            XCTAssertEqual(try Self.manifestProblems(dir), [], "the unbroken copy must pass")
            let url = dir.appendingPathComponent(b.file)
            let text = try String(contentsOf: url, encoding: .utf8)
            XCTAssertTrue(text.contains(b.from), "\(b.file) no longer contains the text this test breaks")
            try text.replacingOccurrences(of: b.from, with: b.to).write(to: url, atomically: true, encoding: .utf8)
            let problems = try Self.manifestProblems(dir)
            XCTAssertFalse(problems.isEmpty, "\(b.file) with '\(b.to)' passed validation")
            XCTAssertTrue(problems.joined(separator: "\n").contains(b.expect), "\(b.file): \(problems)")
        }
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        for f in try FileManager.default.contentsOfDirectory(atPath: Self.k8s.path) {
            try FileManager.default.copyItem(at: Self.k8s.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        try "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stray\n".write(to: dir.appendingPathComponent("stray.yaml"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try Self.manifestProblems(dir), ["stray.yaml is not listed in kustomization.yaml"])
    }

    /// What the issue asks of the workloads, read from the manifests themselves (PyYAML parses them:
    /// it comes with kubernetes-validate).
    func testWorkloadsHaveProbesDrainKeysAndResources() throws {
        try requireValidator()
        let script = """
        import json, sys, yaml, glob, os
        docs = [d for f in sorted(glob.glob(os.path.join(sys.argv[1], '*.yaml'))) if not f.endswith('kustomization.yaml')
                for d in yaml.safe_load_all(open(f)) if d]
        out = {}
        for d in docs:
            if d['kind'] != 'StatefulSet': continue
            spec = d['spec']; pod = spec['template']['spec']; c = pod['containers'][0]
            mounts = {m['name']: m for m in c.get('volumeMounts', [])}
            vols = {v['name']: v for v in pod.get('volumes', [])}
            keys = vols.get('keys', {}).get('secret', {})
            out[d['metadata']['name']] = {
                'replicas': spec.get('replicas'), 'claims': [t['metadata']['name'] for t in spec.get('volumeClaimTemplates', [])],
                'grace': pod.get('terminationGracePeriodSeconds'), 'preStop': 'preStop' in c.get('lifecycle', {}),
                'requests': sorted(c.get('resources', {}).get('requests', {})), 'limits': sorted(c.get('resources', {}).get('limits', {})),
                'nonRoot': pod.get('securityContext', {}).get('runAsNonRoot'),
                'keysReadOnly': mounts.get('keys', {}).get('readOnly'), 'keyFiles': sorted(i['key'] for i in keys.get('items', [])),
                'readiness': c.get('readinessProbe', {}).get('httpGet', {}).get('path'),
                'liveness': c.get('livenessProbe', {}).get('httpGet', {}).get('path'),
                'startupFailures': c.get('startupProbe', {}).get('failureThreshold', 0) * c.get('startupProbe', {}).get('periodSeconds', 10),
                'antiAffinity': 'podAntiAffinity' in pod.get('affinity', {}),
                'args': c.get('args', []),
            }
        print(json.dumps(out))
        """
        let r = try Self.run("python3", ["-c", script, Self.k8s.path])
        XCTAssertEqual(r.status, 0, r.output)
        let all = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: [String: Any]], r.output)
        let coord = try XCTUnwrap(all["strata-coordinator"]), worker = try XCTUnwrap(all["strata-worker"])
        XCTAssertEqual(coord["replicas"] as? Int, 1)
        for (name, w) in [("coordinator", coord), ("worker", worker)] {
            XCTAssertEqual(w["claims"] as? [String], ["data"], name)
            XCTAssertGreaterThanOrEqual(w["grace"] as? Int ?? 0, 30, name)
            XCTAssertEqual(w["preStop"] as? Bool, true, name)
            XCTAssertEqual(w["requests"] as? [String], ["cpu", "memory"], name)
            XCTAssertEqual(w["limits"] as? [String], ["cpu", "memory"], name)
            XCTAssertEqual(w["nonRoot"] as? Bool, true, name)
            XCTAssertEqual(w["keysReadOnly"] as? Bool, true, name)
        }
        // Each role gets only its own secrets from the key set.
        XCTAssertEqual(coord["keyFiles"] as? [String], ["authorized_clients", "authorized_workers", "server.key", "server.pub"])
        XCTAssertEqual(worker["keyFiles"] as? [String], ["server.pub", "worker.key", "worker.pub"])
        XCTAssertEqual(coord["readiness"] as? String, "/ready")
        XCTAssertEqual(coord["liveness"] as? String, "/health")
        XCTAssertGreaterThanOrEqual(coord["startupFailures"] as? Int ?? 0, 600, "model loading and indexing need a generous startup probe")
        XCTAssertEqual(worker["antiAffinity"] as? Bool, true)
        // The flags the manifests pass exist in the binary's usage (those of other branches excepted
        // until merged: --http, --jobs-root).
        for (command, w) in [("coordinator", coord), ("worker", worker)] {
            let usage = try CLI.run([command, "--help"]).stdout
            for arg in (w["args"] as? [String] ?? []).dropFirst() {
                let flag = String(arg.prefix { $0 != "=" })
                if ["--http", "--jobs-root"].contains(flag) && !usage.contains(flag) { continue }
                XCTAssertTrue(usage.contains(flag), "strata \(command) has no \(flag)")
            }
        }
    }

    // MARK: container

    /// The runtime stage of cluster/Containerfile: the packages its `apt-get install` names, and
    /// whether it copies the Swift runtime from the build stage.
    static func runtimeStage() throws -> (packages: [String], copiesSwiftRuntime: Bool) {
        let text = try String(contentsOf: CLI.repo.appendingPathComponent("cluster/Containerfile"), encoding: .utf8)
        let joined = text.replacingOccurrences(of: "\\\n", with: " ")
        guard let stage = joined.range(of: "FROM debian:bookworm-slim AS runtime") else { return ([], false) }
        let runtime = String(joined[stage.upperBound...])
        var packages: [String] = []
        for line in runtime.split(separator: "\n") where line.hasPrefix("RUN ") {
            guard let install = line.range(of: "apt-get install") else { continue }
            let rest = line[install.upperBound...].split(separator: "&").first ?? ""
            packages += rest.split(separator: " ").map(String.init).filter { !$0.hasPrefix("-") && !$0.isEmpty }
        }
        let copies = runtime.split(separator: "\n").contains { $0.hasPrefix("COPY --from=build /usr/lib/swift/linux/") }
        return (packages, copies)
    }

    /// Every installed package `packages` depend on, themselves included (Depends and Pre-Depends,
    /// recursively; of alternatives, those installed here).
    static func dependencyClosure(_ packages: [String]) throws -> Set<String> {
        var seen = Set<String>(), todo = Set(packages)
        while !todo.isEmpty {
            // One dpkg-query per level (it names every package it knows; unknown ones only on stderr).
            let r = try run("dpkg-query", ["-W", "-f=${Package}|${Status}|${Pre-Depends}, ${Depends}\n"] + todo.sorted())
            seen.formUnion(todo)
            var next = Set<String>()
            for line in r.output.split(separator: "\n") {
                let f = line.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
                guard f.count == 3, f[1] == "install ok installed" else { continue }
                for alt in f[2].split(separator: ",") {
                    for d in alt.split(separator: "|") {
                        let name = String(d.trimmingCharacters(in: .whitespaces).prefix { !" (:".contains($0) })
                        if !name.isEmpty && !seen.contains(name) { next.insert(name) }
                    }
                }
            }
            todo = next
        }
        // Keep only what is installed here (alternatives not installed were queried but are not in the image).
        let r = try run("dpkg-query", ["-W", "-f=${Package}|${Status}\n"] + seen.sorted())
        return Set(r.output.split(separator: "\n").compactMap { l -> String? in
            let f = l.split(separator: "|"); return f.count == 2 && f[1] == "install ok installed" ? String(f[0]) : nil
        })
    }

    /// Libraries of `lddOutput` that the image would lack: neither from a package in `closure` nor
    /// (when `swiftRuntime`) from the Swift toolchain's runtime directory.
    static func missingLibraries(lddOutput: String, closure: Set<String>, swiftRuntime: Bool) throws -> [String] {
        var libs: [(name: String, path: String, real: String)] = []
        var missing: [String] = []
        for line in lddOutput.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard let arrow = parts.firstIndex(of: "=>"), arrow + 1 < parts.count, parts[arrow + 1].hasPrefix("/") else { continue }
            let lib = String(parts[arrow + 1]), name = String(parts[0].trimmingCharacters(in: .whitespaces))
            if lib.contains("/usr/lib/swift/linux/") {
                if !swiftRuntime { missing.append("\(name) (Swift runtime, not copied)") }
                continue
            }
            libs.append((name, lib, URL(fileURLWithPath: lib).resolvingSymlinksInPath().path))
        }
        // Owners of the real files and of the paths ldd printed (one dpkg -S for all): "pkg:arch: path".
        let r = try run("dpkg", ["-S"] + libs.flatMap { [$0.real, $0.path] })
        var owner: [String: String] = [:]
        for line in r.output.split(separator: "\n") {
            guard let sep = line.range(of: ": /") else { continue }
            let pkg = line[..<sep.lowerBound].split(separator: ":").first.map(String.init) ?? ""
            owner[String(line[line.index(after: sep.lowerBound)...]).trimmingCharacters(in: .whitespaces)] = pkg
        }
        for l in libs {
            guard let pkg = owner[l.real] ?? owner[l.path] else { missing.append("\(l.name) (\(l.path): no Debian package owns it)"); continue }
            if !closure.contains(pkg) { missing.append("\(l.name) (package \(pkg))") }
        }
        return missing
    }

    func testContainerRuntimeStageHasEveryLinkedLibrary() throws {
        guard Self.onPath("ldd"), Self.onPath("dpkg") else { throw XCTSkip("needs ldd and dpkg (a Debian system)") }
        let ldd = try Self.run("ldd", [CLI.binary.path])
        XCTAssertEqual(ldd.status, 0, ldd.output)
        let stage = try Self.runtimeStage()
        XCTAssertTrue(stage.packages.contains("libzmq5"), "runtime packages parsed: \(stage.packages)")
        XCTAssertTrue(stage.copiesSwiftRuntime, "the runtime stage must copy /usr/lib/swift/linux/ from the build stage")
        let closure = try Self.dependencyClosure(stage.packages)
        let missing = try Self.missingLibraries(lddOutput: ldd.output, closure: closure, swiftRuntime: stage.copiesSwiftRuntime)
        XCTAssertEqual(missing, [], "add their packages to the runtime stage of cluster/Containerfile")
        // The check can fail: without libzmq5 (and what only it pulls in) libzmq.so.5 is missing.
        let withoutZMQ = try Self.dependencyClosure(stage.packages.filter { $0 != "libzmq5" })
        let missingZMQ = try Self.missingLibraries(lddOutput: ldd.output, closure: withoutZMQ, swiftRuntime: true)
        XCTAssertTrue(missingZMQ.contains { $0.hasPrefix("libzmq.so.5") }, "\(missingZMQ)")
        XCTAssertFalse(try Self.missingLibraries(lddOutput: ldd.output, closure: closure, swiftRuntime: false).isEmpty)
    }

    // MARK: Slurm

    /// cluster/slurm/test-local on a real single-node Slurm: the batch job's embeddings.npy is
    /// byte-identical to `strata embed`, also after scancel mid-job and resubmission; the serving
    /// script publishes an address that answers searches.
    func testSlurmBatchJobMatchesStrataEmbed() throws {
        #if DEBUG
        throw XCTSkip("the Slurm test runs in release builds (scripts/test): a debug `strata embed` of its 36,000 documents takes minutes")
        #endif
        guard getuid() == 0 else { throw XCTSkip("Slurm test needs root (it starts munged, slurmctld and slurmd)") }
        for p in ["sbatch", "slurmctld", "slurmd", "munged", "python3"] where !Self.onPath(p) {
            throw XCTSkip("\(p) is not installed (scripts/setup installs slurm-wlm and munge)")
        }
        let model = CLI.modelFixtures.appendingPathComponent("tiny-de-legacy").path
        let script = CLI.repo.appendingPathComponent("cluster/slurm/test-local").path
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }

        let plain = try Self.run(script, ["--corpus", CLI.repo.appendingPathComponent("cluster/sample/corpus.jsonl").path,
                                          "--model", model, "--out", dir.appendingPathComponent("plain").path,
                                          "--strata", CLI.binary.path])
        XCTAssertEqual(plain.status, 0, plain.output)
        XCTAssertTrue(plain.output.contains("PASS: "), plain.output)

        // The serving script: address file written once ready, searches answered, file gone after scancel.
        let serve = try Self.run(script, ["--serve", "--corpus", CLI.repo.appendingPathComponent("cluster/sample/corpus.jsonl").path,
                                          "--model", model, "--out", dir.appendingPathComponent("serve").path, "--strata", CLI.binary.path])
        XCTAssertEqual(serve.status, 0, serve.output)
        XCTAssertTrue(serve.output.contains("PASS: strata-serve.sbatch"), serve.output)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("serve/run.trec"), encoding: .utf8)
            .split(separator: "\n").count, 100)

        // Enough 4096-document chunks (the default, byte-identical chunking) that the job is still
        // running when its first chunk is journaled: 36,000 documents, 9 chunks.
        let corpus = dir.appendingPathComponent("corpus.jsonl")
        let sample = try String(contentsOf: CLI.repo.appendingPathComponent("cluster/sample/corpus.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        var big = ""
        for copy in 0..<18 {
            for line in sample { big += line.replacingOccurrences(of: "{\"_id\":\"", with: "{\"_id\":\"c\(copy)-") + "\n" }
        }
        try big.write(to: corpus, atomically: true, encoding: .utf8)
        XCTAssertEqual(big.components(separatedBy: "{\"_id\":\"c").count - 1, 18 * sample.count, "every copy gets new ids")
        let resumed = try Self.run(script, ["--cancel-resume", "--cpus", "1", "--corpus", corpus.path, "--model", model,
                                            "--out", dir.appendingPathComponent("resumed").path, "--strata", CLI.binary.path])
        XCTAssertEqual(resumed.status, 0, resumed.output)
        XCTAssertTrue(resumed.output.contains("PASS: ") && resumed.output.contains("after scancel and resubmission"), resumed.output)
    }
}
