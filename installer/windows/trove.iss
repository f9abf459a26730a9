; Inno Setup 6 script for Trove's Windows installer.
;
;   ISCC.exe /DAppVersion=0.1.0 installer\windows\trove.iss
;
; installer\windows\build.ps1 freezes the app into dist\pyinstaller\trove first and then runs
; this with the version from pyproject.toml; the result is
; dist\trove-<version>-windows-x64-setup.exe.

#ifndef AppVersion
  #error Pass the version on the command line: ISCC /DAppVersion=x.y.z installer\windows\trove.iss
#endif

[Setup]
; Windows recognises an installed Trove, and every later upgrade of it, by this GUID: never
; change it, or upgrades install side by side instead of replacing the old version.
AppId={{31AA96BA-8E0D-4551-9486-20B288E6A87C}
AppName=Trove
AppVersion={#AppVersion}
AppVerName=Trove {#AppVersion}
UninstallDisplayName=Trove
UninstallDisplayIcon={app}\trove.ico
; Paths below are relative to the repository root, whichever directory ISCC runs from.
SourceDir={#AddBackslash(SourcePath)}..\..
OutputDir=dist
OutputBaseFilename=trove-{#AppVersion}-windows-x64-setup
SetupIconFile=installer\windows\trove.ico
WizardStyle=modern
; Trove indexes one person's files and keeps its data in their profile, so installing for
; just that person needs no administrator; the dialog still offers an all-users install.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
DefaultDirName={autopf}\Trove
DisableProgramGroupPage=yes
; The bundle holds 64-bit Python, Qt and torch; there is nothing to run on 32-bit Windows.
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; One solid LZMA2 stream: torch and Qt libraries share a lot, which only solid mode exploits.
Compression=lzma2
SolidCompression=yes
LZMAUseSeparateProcess=yes
; Without this, terminals opened from Explorer do not see the PATH change until sign-out.
ChangesEnvironment=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "addtopath"; Description: "Add Trove to PATH, so that the trove command works in a terminal"; GroupDescription: "Command line:"

[InstallDelete]
; An upgrade would otherwise leave the previous version's libraries beside the new ones,
; and the frozen app could import a stale module from them.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "dist\pyinstaller\trove\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
; The executables embed the same icon (installer\trove.spec); a separate file keeps the
; shortcuts' and the Apps list's icon independent of how the executables were built.
Source: "installer\windows\trove.ico"; DestDir: "{app}"; Flags: ignoreversion

[Icons]
Name: "{autoprograms}\Trove"; Filename: "{app}\trove-desktop.exe"; WorkingDir: "{app}"; IconFilename: "{app}\trove.ico"; Comment: "Find files on this computer by what they mean"
Name: "{autodesktop}\Trove"; Filename: "{app}\trove-desktop.exe"; WorkingDir: "{app}"; IconFilename: "{app}\trove.ico"; Tasks: desktopicon

[Run]
Filename: "{app}\trove-desktop.exe"; Description: "{cm:LaunchProgram,Trove}"; Flags: nowait postinstall skipifsilent

; No [UninstallDelete]: the index, settings and caches live in the per-user folder
; %LOCALAPPDATA%\Trove, which uninstalling must leave alone so that a reinstall finds them.

[Code]
const
  UserEnvironmentKey = 'Environment';
  SystemEnvironmentKey = 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment';

{ An all-users install puts trove on every user's PATH; a per-user one only on its owner's. }
function EnvironmentRoot: Integer;
begin
  if IsAdminInstallMode then
    Result := HKEY_LOCAL_MACHINE
  else
    Result := HKEY_CURRENT_USER;
end;

function EnvironmentKey: String;
begin
  if IsAdminInstallMode then
    Result := SystemEnvironmentKey
  else
    Result := UserEnvironmentKey;
end;

function SameFolder(Entry, Folder: String): Boolean;
begin
  Result := CompareText(RemoveBackslashUnlessRoot(Trim(Entry)), RemoveBackslashUnlessRoot(Folder)) = 0;
end;

{ PathValue without its entries naming Folder; Found says whether there were any. Other
  entries keep their order and their unexpanded form (such as %USERPROFILE%\bin). }
function PathWithout(PathValue, Folder: String; var Found: Boolean): String;
var
  Rest, Entry: String;
  Cut: Integer;
begin
  Result := '';
  Found := False;
  Rest := PathValue;
  while Rest <> '' do
  begin
    Cut := Pos(';', Rest);
    if Cut = 0 then
    begin
      Entry := Rest;
      Rest := '';
    end
    else
    begin
      Entry := Copy(Rest, 1, Cut - 1);
      Rest := Copy(Rest, Cut + 1, Length(Rest));
    end;
    if SameFolder(Entry, Folder) then
      Found := True
    else if Entry <> '' then
    begin
      if Result <> '' then
        Result := Result + ';';
      Result := Result + Entry;
    end;
  end;
end;

procedure AddToPath(Folder: String);
var
  PathValue, Unused: String;
  Found: Boolean;
begin
  if not RegQueryStringValue(EnvironmentRoot, EnvironmentKey, 'Path', PathValue) then
    PathValue := '';
  Unused := PathWithout(PathValue, Folder, Found);
  if Found then
    Exit;
  if PathValue <> '' then
    if PathValue[Length(PathValue)] <> ';' then
      PathValue := PathValue + ';';
  { An expandable string, so that the other entries' %VARIABLES% keep working. }
  if not RegWriteExpandStringValue(EnvironmentRoot, EnvironmentKey, 'Path', PathValue + Folder) then
    Log('Could not add ' + Folder + ' to PATH');
end;

procedure RemoveFromPath(Folder: String);
var
  PathValue, Kept: String;
  Found: Boolean;
begin
  if not RegQueryStringValue(EnvironmentRoot, EnvironmentKey, 'Path', PathValue) then
    Exit;
  Kept := PathWithout(PathValue, Folder, Found);
  { Written back only when Trove was on it: the rest of PATH is the user's, not ours. }
  if Found then
    if not RegWriteExpandStringValue(EnvironmentRoot, EnvironmentKey, 'Path', Kept) then
      Log('Could not remove ' + Folder + ' from PATH');
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if CurStep = ssPostInstall then
  begin
    { Unticking the task on an upgrade takes an earlier entry away again. }
    if WizardIsTaskSelected('addtopath') then
      AddToPath(ExpandConstant('{app}'))
    else
      RemoveFromPath(ExpandConstant('{app}'));
  end;
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    RemoveFromPath(ExpandConstant('{app}'));
end;
