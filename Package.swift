// swift-tools-version:5.9
// Strata: cross-encoder early-layer embeddings, dual encoders, and a ZeroMQ retrieval cluster.
import PackageDescription

// Only the raw-buffer kernels drop Swift's runtime checks; everything that parses input keeps them.
let uncheckedKernels: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "Strata",
    products: [
        .executable(name: "strata", targets: ["strata"]),
    ],
    targets: [
        // MARK: C shims (system libraries from Debian packages; each imported only by its wrapper)
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ"),
        .systemLibrary(name: "CProtobufC", path: "Sources/CProtobufC"),
        .systemLibrary(name: "CMicroHTTPD", path: "Sources/CMicroHTTPD"),
        .target(name: "CStrataProto", dependencies: ["CProtobufC"], path: "Sources/CStrataProto",
                linkerSettings: [.linkedLibrary("protobuf-c")]),
        // int8 (AVX-512 VNNI) and bf16 (AVX-512 BF16) GEMM with a portable C fallback; per-function
        // target attributes, so it builds on any x86-64 without global -m flags. Imported only by Kernels.
        .target(name: "CStrataKernels", path: "Sources/CStrataKernels"),

        // MARK: libraries
        .target(name: "Kernels", dependencies: ["COpenBLAS", "CStrataKernels"], swiftSettings: uncheckedKernels),
        .target(name: "Tokenizer"),
        // Data files: lines, JSONL/BEIR records, .npy, durable writes, CRC-32 (Foundation only).
        .target(name: "Formats"),
        .target(name: "Model", dependencies: ["Kernels", "Tokenizer", "Formats"]),
        .target(name: "Index", dependencies: ["Kernels"]),
        .target(name: "Eval", dependencies: ["Formats", "Index", "Kernels"]),
        .target(name: "Train", dependencies: ["Model", "Kernels", "Tokenizer"]),
        .target(name: "ZMQ", dependencies: ["CZeroMQ"]),
        .target(name: "Wire", dependencies: ["CStrataProto", "CProtobufC"]),
        .target(name: "Cluster", dependencies: ["ZMQ", "Wire", "Model", "Index", "Kernels", "Tokenizer", "Formats"]),
        .target(name: "HTTP", dependencies: ["CMicroHTTPD"]),
        .target(name: "Serving", dependencies: ["HTTP", "Cluster", "Wire"]),
        // The CLI's declarative flag tables: parsing and --help from one declaration per command.
        .target(name: "CommandLineFlags"),

        // MARK: tools
        .executableTarget(name: "strata",
                          dependencies: ["Kernels", "Tokenizer", "Model", "Index", "Eval", "Train", "ZMQ", "Wire", "Cluster", "HTTP", "Serving", "Formats", "CommandLineFlags"]),

        // MARK: tests
        .testTarget(name: "KernelsTests", dependencies: ["Kernels"]),
        .testTarget(name: "TokenizerTests", dependencies: ["Tokenizer"], resources: [.copy("Fixtures")]),
        .testTarget(name: "FormatsTests", dependencies: ["Formats", "Kernels"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Kernels"], resources: [.copy("Fixtures")]),
        .testTarget(name: "IndexTests", dependencies: ["Index"]),
        .testTarget(name: "EvalTests", dependencies: ["Eval", "Model", "Index", "Formats"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TrainTests", dependencies: ["Train", "Model", "Tokenizer", "Kernels"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ZMQTests", dependencies: ["ZMQ"]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "Kernels"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "ZMQ", "Wire", "Index", "Kernels", "Model", "Formats"]),
        .testTarget(name: "CLITests", dependencies: []),
        .testTarget(name: "CommandLineFlagsTests", dependencies: ["CommandLineFlags"]),
        .testTarget(name: "ServingTests", dependencies: ["Serving", "HTTP", "Cluster", "Wire", "Model", "Tokenizer", "Formats"]),
    ]
)
