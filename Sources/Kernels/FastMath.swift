/// Vectorised float32 transcendental functions used by the activation kernels.
/// Each has a scalar twin from the C library used by tests (`erff`, `expf`).

/// 16-lane float vector: the kernels' working width (one AVX-512 register, two AVX2 ones).
public typealias F16x = SIMD16<Float>

/// e^x for 16 lanes; relative error below 2e-7 on [-87, 88]; saturates outside.
@inline(__always)
public func fastExp(_ x: F16x) -> F16x {
    // x = n ln2 + r, |r| <= ln2/2; e^r by a degree-6 polynomial; 2^n by exponent bits.
    let clamped = x.clamped(lowerBound: F16x(repeating: -87.3), upperBound: F16x(repeating: 88.3))
    let n = (clamped * 1.44269504088896341).rounded(.toNearestOrEven)
    var r = clamped - n * 0.693359375
    r = r - n * -2.12194440e-4
    var p = F16x(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    p = p * (r * r) + r + 1
    let bits = (SIMD16<Int32>(n) &+ 127) &<< 23
    return p * unsafeBitCast(bits, to: F16x.self)
}

/// erf(x) for 16 lanes: rational approximation on [-4, 4] (|error| < 2e-7), ±1 outside.
@inline(__always)
public func fastErf(_ x: F16x) -> F16x {
    let xc = x.clamped(lowerBound: F16x(repeating: -4), upperBound: F16x(repeating: 4))
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
