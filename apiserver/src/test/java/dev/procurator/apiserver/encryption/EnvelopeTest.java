package dev.procurator.apiserver.encryption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnvelopeTest {
  @TempDir Path tmp;
  static final byte[] SECRET = "hunter2-the-password".getBytes(StandardCharsets.UTF_8);
  static final String KEY = "/registry/procurator.dev/secrets/default/db";

  @Test
  void hkdfMatchesRfc5869TestCase1() {
    HexFormat hex = HexFormat.of();
    byte[] okm = Hkdf.derive(hex.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"), hex.parseHex("000102030405060708090a0b0c"),
        hex.parseHex("f0f1f2f3f4f5f6f7f8f9"), 42);
    assertThat(hex.formatHex(okm)).isEqualTo("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
  }

  @Test
  void aSealedValueHoldsNoPlaintextAndOpensOnlyAtItsOwnKey() throws Exception {
    Envelope e = new Envelope(List.of(LocalKeyFile.create(tmp.resolve("k"))));
    byte[] sealed = e.seal(KEY, SECRET);
    assertThat(Envelope.sealed(sealed)).isTrue();
    assertThat(new String(sealed, StandardCharsets.ISO_8859_1)).doesNotContain("hunter2");
    assertThat(Envelope.keyIdOf(sealed)).isEqualTo(e.currentKeyId());
    assertThat(e.open(KEY, sealed)).isEqualTo(SECRET);
    // two writes of one value differ (a fresh data key each)
    assertThat(e.seal(KEY, SECRET)).isNotEqualTo(sealed);
    // moved to another object's key, it does not open
    assertThatThrownBy(() -> e.open("/registry/procurator.dev/secrets/default/other", sealed)).hasMessageContaining("does not open");
    // one flipped bit, and it does not open
    sealed[sealed.length - 5] ^= 1;
    assertThatThrownBy(() -> e.open(KEY, sealed)).hasMessageContaining("does not open");
    // a value written before encryption was on reads as it is
    assertThat(e.open(KEY, SECRET)).isEqualTo(SECRET);
  }

  @Test
  void anotherProcessWithTheKeyFileOpensItAndOneWithoutItCannot() throws Exception {
    Path file = tmp.resolve("k");
    byte[] sealed = new Envelope(List.of(LocalKeyFile.create(file))).seal(KEY, SECRET);
    assertThat(new Envelope(List.of(LocalKeyFile.read(file))).open(KEY, sealed)).isEqualTo(SECRET);
    Envelope stranger = new Envelope(List.of(LocalKeyFile.create(tmp.resolve("other"))));
    assertThatThrownBy(() -> stranger.open(KEY, sealed)).hasMessageContaining("no key provider has key");
  }

  @Test
  void aNewKeySealsAndTheOldOneStillOpensUntilRetired() throws Exception {
    Path file = tmp.resolve("k");
    LocalKeyFile first = LocalKeyFile.create(file);
    assertThat(Files.getPosixFilePermissions(file)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    byte[] old = new Envelope(List.of(first)).seal(KEY, SECRET);
    String added = LocalKeyFile.addKey(file);
    Envelope next = new Envelope(List.of(LocalKeyFile.read(file)));
    assertThat(next.currentKeyId()).isEqualTo(added);
    assertThat(next.open(KEY, old)).isEqualTo(SECRET);
    assertThat(Envelope.keyIdOf(next.seal(KEY, SECRET))).isEqualTo(added);
    assertThatThrownBy(() -> LocalKeyFile.retire(file, added)).hasMessageContaining("is the current key");
    LocalKeyFile.retire(file, first.currentKeyId());
    assertThat(LocalKeyFile.read(file).keyIds()).containsExactly(added);
  }

  @Test
  void aMalformedKeyFileIsRefusedWithItsLine() throws Exception {
    Path file = tmp.resolve("k");
    Files.writeString(file, "# keys\nkey-1 bm90LTMyLWJ5dGVz\n");
    assertThatThrownBy(() -> LocalKeyFile.read(file)).hasMessageContaining("line 2").hasMessageContaining("32-byte key");
  }
}
