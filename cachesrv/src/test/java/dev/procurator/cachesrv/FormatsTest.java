package dev.procurator.cachesrv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.Signature;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class FormatsTest {
  /** A NAR of one regular file, built by the rules of the format. */
  static byte[] nar(String contents) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (String s : new String[] {"nix-archive-1", "(", "type", "regular", "contents"}) {
      str(out, s.getBytes(StandardCharsets.UTF_8));
    }
    str(out, contents.getBytes(StandardCharsets.UTF_8));
    str(out, ")".getBytes(StandardCharsets.UTF_8));
    return out.toByteArray();
  }

  private static void str(ByteArrayOutputStream out, byte[] b) {
    long n = b.length;
    for (int i = 0; i < 8; i++) {
      out.write((int) (n >>> (8 * i)) & 0xff);
    }
    out.writeBytes(b);
    for (int i = 0; i < (8 - n % 8) % 8; i++) {
      out.write(0);
    }
  }

  @Test
  void nixBase32MatchesNix() throws Exception {
    // nix hash to-base32 of the sha256 of the empty string
    byte[] empty = MessageDigest.getInstance("SHA-256").digest(new byte[0]);
    assertThat(NixBase32.encode(empty)).isEqualTo("0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73");
    assertThat(NixBase32.decode(NixBase32.encode(empty), 32)).isEqualTo(empty);
    assertThatThrownBy(() -> NixBase32.decode("e".repeat(52), 32)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void narVerifierMeasuresAndRejectsWhatIsNotANar() throws Exception {
    byte[] nar = nar("hello\n");
    NarVerifier.Measured m = NarVerifier.verify(new ByteArrayInputStream(nar));
    assertThat(m.narSize()).isEqualTo(nar.length);
    assertThat(m.narHash()).isEqualTo(MessageDigest.getInstance("SHA-256").digest(nar));

    assertThatThrownBy(() -> NarVerifier.verify(new ByteArrayInputStream("not a nar at all".getBytes(StandardCharsets.UTF_8))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a NAR");
    byte[] truncated = java.util.Arrays.copyOf(nar, nar.length - 8);
    assertThatThrownBy(() -> NarVerifier.verify(new ByteArrayInputStream(truncated))).hasMessageContaining("not a NAR");
    byte[] trailing = java.util.Arrays.copyOf(nar, nar.length + 8);
    assertThatThrownBy(() -> NarVerifier.verify(new ByteArrayInputStream(trailing))).hasMessageContaining("after the end");
  }

  @Test
  void narInfoParsesRendersAndNamesItsBadField() {
    String text = """
        StorePath: /nix/store/0c3ghl2pfmxw7kxq2hyd5d44fbxrhz0y-hello
        URL: nar/1h74jnnm49xl9ci60cdbk87sjsflq8hckffwliwdykl5j2ga1lgh.nar.xz
        Compression: xz
        NarHash: sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73
        NarSize: 120
        References: 0c3ghl2pfmxw7kxq2hyd5d44fbxrhz0y-hello 1f7jnyq3cgd2wz0w6nm1r5q3f9xdk3a6-dep
        """;
    NarInfo info = NarInfo.parse(text);
    assertThat(info.hashPart()).isEqualTo("0c3ghl2pfmxw7kxq2hyd5d44fbxrhz0y");
    assertThat(NarInfo.parse(info.render())).isEqualTo(info);
    assertThat(info.fingerprint()).isEqualTo("1;/nix/store/0c3ghl2pfmxw7kxq2hyd5d44fbxrhz0y-hello;"
        + "sha256:0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73;120;"
        + "/nix/store/0c3ghl2pfmxw7kxq2hyd5d44fbxrhz0y-hello,/nix/store/1f7jnyq3cgd2wz0w6nm1r5q3f9xdk3a6-dep");

    assertThatThrownBy(() -> NarInfo.parse(text.replace("Compression: xz\n", ""))).hasMessageContaining("Compression");
    assertThatThrownBy(() -> NarInfo.parse(text.replace("/nix/store/0c3", "/tmp/0c3"))).hasMessageContaining("StorePath");
    assertThatThrownBy(() -> NarInfo.parse(text.replace("NarSize: 120", "NarSize: lots"))).hasMessageContaining("NarSize");
    assertThatThrownBy(() -> NarInfo.parse(text.replace(" 1f7jnyq", " /nix/store/1f7jnyq"))).hasMessageContaining("reference");
    assertThatThrownBy(() -> NarInfo.parse(text.replace("sha256:0md", "md5:0md"))).hasMessageContaining("NarHash");
  }

  @Test
  void signaturesVerifyWithThePublicKeyNixIsGiven() throws Exception {
    SigningKey key = SigningKey.generate("cache.example-1");
    SigningKey again = SigningKey.parse(key.secretText());
    assertThat(again.publicText()).isEqualTo(key.publicText());
    String sig = key.sign("1;/nix/store/x;sha256:y;1;");
    assertThat(sig).startsWith("cache.example-1:");

    byte[] pub = Base64.getDecoder().decode(key.publicText().substring(key.publicText().indexOf(':') + 1));
    // X.509 SubjectPublicKeyInfo for Ed25519 is a fixed 12-byte prefix before the raw key
    byte[] spki = new byte[44];
    byte[] prefix = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    System.arraycopy(prefix, 0, spki, 0, 12);
    System.arraycopy(pub, 0, spki, 12, 32);
    Signature v = Signature.getInstance("Ed25519");
    v.initVerify(KeyFactory.getInstance("Ed25519").generatePublic(new java.security.spec.X509EncodedKeySpec(spki)));
    v.update("1;/nix/store/x;sha256:y;1;".getBytes(StandardCharsets.UTF_8));
    assertThat(v.verify(Base64.getDecoder().decode(sig.substring(sig.indexOf(':') + 1)))).isTrue();
  }
}
