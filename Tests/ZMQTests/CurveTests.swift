import XCTest
import ZMQ

/// CURVE encryption and ZAP allow-list authentication on loopback.
final class CurveTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(zmqHas("curve"), "libzmq built without CURVE")
    }

    func testZ85RoundTripAndPublicFromSecret() throws {
        let raw: [UInt8] = (0..<32).map { UInt8($0 * 7 % 256) }
        let text = try Curve.z85Encode(raw)
        XCTAssertEqual(text.count, 40)
        XCTAssertEqual(try Curve.z85Decode(text), raw)
        let kp = try Curve.keypair()
        XCTAssertEqual(try Curve.publicKey(forSecret: kp.secretKey), kp.publicKey)
        XCTAssertNotEqual(kp.publicKey, kp.secretKey)
        XCTAssertThrowsError(try Curve.z85Decode("abc"))
    }

    /// Server with a ZAP handler allowing `allowed`; returns whether `client` gets a message through.
    func deliver(serverKeys: (publicKey: String, secretKey: String), allowed: [String],
                 clientServerKey: String, client: (publicKey: String, secretKey: String)) throws -> (Bool, ZAPHandler) {
        let ctx = try Context()
        let zap = try ZAPHandler(context: ctx, allowedClientKeys: allowed)
        let router = try ctx.socket(.router)
        try router.makeCurveServer(secretKey: serverKeys.secretKey)
        try router.bind("tcp://127.0.0.1:0")
        try router.setReceiveTimeout(milliseconds: 600)
        let dealer = try ctx.socket(.dealer)
        try dealer.makeCurveClient(serverKey: clientServerKey, publicKey: client.publicKey, secretKey: client.secretKey)
        try dealer.connect(try router.lastEndpoint)
        try dealer.send(Array("secret hello".utf8), dontWait: true)
        let got = try router.receiveMultipart()
        router.close(); dealer.close()
        zap.stop()
        return (got?.last == Array("secret hello".utf8), zap)
    }

    func testAllowedClientIsAccepted() throws {
        let server = try Curve.keypair(), client = try Curve.keypair()
        let (ok, zap) = try deliver(serverKeys: server, allowed: [client.publicKey], clientServerKey: server.publicKey, client: client)
        XCTAssertTrue(ok)
        XCTAssertEqual(zap.accepted, 1)
        XCTAssertEqual(zap.refused, 0)
    }

    func testUnknownClientKeyIsRefused() throws {
        let server = try Curve.keypair(), known = try Curve.keypair(), stranger = try Curve.keypair()
        let (ok, zap) = try deliver(serverKeys: server, allowed: [known.publicKey], clientServerKey: server.publicKey, client: stranger)
        XCTAssertFalse(ok, "a client whose key is not allowed must not be heard")
        XCTAssertGreaterThanOrEqual(zap.refused, 1)
        XCTAssertEqual(zap.accepted, 0)
    }

    func testWrongServerKeyIsRefused() throws {
        let server = try Curve.keypair(), impostor = try Curve.keypair(), client = try Curve.keypair()
        let (ok, zap) = try deliver(serverKeys: server, allowed: [client.publicKey], clientServerKey: impostor.publicKey, client: client)
        XCTAssertFalse(ok, "a client that expects another server key must fail the handshake")
        XCTAssertEqual(zap.accepted, 0)
    }

    func testPlainClientCannotTalkToCurveServer() throws {
        let ctx = try Context()
        let server = try Curve.keypair()
        let zap = try ZAPHandler(context: ctx, allowedClientKeys: [])
        defer { zap.stop() }
        let router = try ctx.socket(.router)
        try router.makeCurveServer(secretKey: server.secretKey)
        try router.bind("tcp://127.0.0.1:0")
        try router.setReceiveTimeout(milliseconds: 400)
        let dealer = try ctx.socket(.dealer)
        try dealer.connect(try router.lastEndpoint)
        try dealer.send(Array("plain".utf8), dontWait: true)
        XCTAssertNil(try router.receiveMultipart())
    }

    func testMalformedKeyIsAClearError() throws {
        let ctx = try Context()
        let s = try ctx.socket(.dealer)
        XCTAssertThrowsError(try s.makeCurveClient(serverKey: "short", publicKey: "x", secretKey: "y")) { e in
            XCTAssertTrue("\(e)".contains("server key"), "\(e)")
        }
    }
}
