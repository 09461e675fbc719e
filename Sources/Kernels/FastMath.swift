/// Float32 transcendental functions for the activation kernels, on 16-lane vectors with only
/// the operations Swift lowers to vector instructions (no generic clamped/rounded, which
/// scalarise). Tests compare them with libm (`erf`, `exp`) in double precision.

/// 16-lane float vector used by the row kernels.
public typealias F16x = SIMD16<Float>

/// e^x for one value (tails of the vector loops): the 16-lane kernel on a broadcast.
@inline(__always)
public func fastExp(_ x: Float) -> Float { fastExp(F16x(repeating: x))[0] }

/// erf(x) for one value (tails of the vector loops): the 16-lane kernel on a broadcast.
@inline(__always)
public func fastErf(_ x: Float) -> Float { fastErf(F16x(repeating: x))[0] }

/// e^x for 16 lanes, relative error below 2e-7 on [-87, 88]; inputs outside saturate.
/// x = n ln2 + r, |r| <= ln2/2; e^r by a degree-6 polynomial; 2^n built in the exponent bits.
@inline(__always)
public func fastExp(_ x: F16x) -> F16x {
    let v = x.replacing(with: -87.3, where: x .< -87.3).replacing(with: 88.3, where: x .> 88.3)
    let shifter = F16x(repeating: 12582912)
    let t = v * 1.44269504088896341 + shifter
    let n = t - shifter
    var r = v - n * 0.693359375
    r = r - n * -2.12194440e-4
    var p = F16x(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * (r * r) + r + 1
    let k = unsafeBitCast(t, to: SIMD16<Int32>.self) &- 0x4B40_0000
    return p * unsafeBitCast((k &+ 127) &<< 23, to: F16x.self)
}

/// erf for 16 lanes: Eigen's rational approximation on [-4, 4] (|error| < 2e-7), ±1 outside.
@inline(__always)
public func fastErf(_ x: F16x) -> F16x {
    let xc = x.replacing(with: -4, where: x .< -4).replacing(with: 4, where: x .> 4)
    let x2 = xc * xc
    var p = F16x(repeating: -2.72614225801306e-10)
    p = p * x2 + 2.77068142495902e-08
    p = p * x2 + -2.10102402082508e-06
    p = p * x2 + -5.69250639462346e-05
    p = p * x2 + -7.34990630326855e-04
    p = p * x2 + -2.95459980854025e-03
    p = p * x2 + -1.60960333262415e-02
    p = p * xc
    var q = F16x(repeating: -1.45660718464996e-05)
    q = q * x2 + -2.13374055278905e-04
    q = q * x2 + -1.68282697438203e-03
    q = q * x2 + -7.37332916720468e-03
    q = q * x2 + -1.42647390514189e-02
    return p / q
}
